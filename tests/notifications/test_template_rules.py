"""Template rules: what an administrator may write, and how a template is filled."""
from __future__ import annotations

from datetime import date

import pytest

from core.notifications.channels import Channel
from core.notifications import template_rules as rules
from core.errors import ValidationError

INVOICE_BODY = "Счёт {provider} за {period}: {amount}, оплатить до {due_date}."


@pytest.mark.parametrize(("topic", "channel"), sorted(rules.DEFAULT_TEMPLATES))
def test_shipped_defaults_pass_their_own_rules(topic, channel):
    shipped = rules.DEFAULT_TEMPLATES[(topic, channel)]
    assert rules.validate_template(topic, channel, shipped.subject, shipped.body) == shipped


@pytest.mark.parametrize("topic", ["new_invoice", "payment_result"])
def test_shipped_sms_fits_one_latin_sms_length_with_realistic_values(topic):
    _, body = rules.render(rules.DEFAULT_TEMPLATES[(topic, rules.SMS)], rules.SAMPLE_VALUES[topic])
    assert len(body) <= 160
    assert "{" not in body and "—" not in body


def test_every_topic_and_channel_has_a_default_subscription_and_template():
    cells = {(t, c) for t in rules.TOPICS for c in rules.CHANNELS}
    assert set(rules.DEFAULT_SUBSCRIPTIONS) == cells == set(rules.DEFAULT_TEMPLATES)
    assert rules.DEFAULT_SUBSCRIPTIONS == {
        ("new_invoice", "email"): True, ("new_invoice", "sms"): True,
        ("payment_result", "email"): True, ("payment_result", "sms"): False,
        ("news", "email"): False, ("news", "sms"): False}


@pytest.mark.parametrize(("channel", "subject", "body", "field", "message"), [
    pytest.param("email", "Счёт", "Сумма {sum}", "body",
                 "Текст шаблона: неизвестная подстановка {sum}; допустимы: {provider}, "
                 "{account}, {account_name}, {period}, {amount}, {due_date}", id="unknown"),
    pytest.param("email", "Счёт", "{sum} и {total} и {sum}", "body",
                 "Текст шаблона: неизвестные подстановки {sum}, {total}; допустимы:",
                 id="several-unknown"),
    pytest.param("email", "Счёт", "Сумма {amount", "body",
                 "Текст шаблона: непарная фигурная скобка", id="unclosed"),
    pytest.param("email", "Счёт", "Сумма amount}", "body",
                 "Текст шаблона: непарная фигурная скобка", id="single-closing"),
    pytest.param("email", "Счёт", "Сумма {amount!}", "body",
                 "Текст шаблона: непарная фигурная скобка", id="broken-conversion"),
    pytest.param("email", "Счёт", "{amount.__class__}", "body",
                 "Текст шаблона: подстановка {amount.__class__} недопустима: обращения",
                 id="attribute"),
    pytest.param("email", "Счёт", "{amount.__class__.__mro__}", "body",
                 "Текст шаблона: подстановка {amount.__class__.__mro__} недопустима",
                 id="attribute-chain"),
    pytest.param("email", "Счёт", "{amount[0]}", "body",
                 "Текст шаблона: подстановка {amount[0]} недопустима", id="index"),
    pytest.param("email", "Счёт", "{0}", "body",
                 "Текст шаблона: подстановка {0} без имени недопустима", id="positional"),
    pytest.param("email", "Счёт", "Сумма {}", "body",
                 "Текст шаблона: подстановка {} без имени недопустима", id="empty-name"),
    pytest.param("email", "Счёт", "{amount!r}", "body",
                 "Текст шаблона: форматирование в подстановке {amount!r} не поддерживается",
                 id="conversion"),
    pytest.param("email", "Счёт", "{amount:>10}", "body",
                 "Текст шаблона: форматирование в подстановке {amount:>10}", id="format-spec"),
    pytest.param("email", "Счёт", "{amount:{due_date}}", "body",
                 "Текст шаблона: форматирование в подстановке", id="nested-spec"),
    pytest.param("email", "Счёт", "{ amount }", "body",
                 "Текст шаблона: неизвестная подстановка { amount }", id="spaces-in-name"),
    pytest.param("email", "Счёт", "Платёж {payment_id}", "body",
                 "Текст шаблона: неизвестная подстановка {payment_id}", id="other-topic-name"),
    pytest.param("email", "Счёт", "   \n ", "body", "Текст шаблона: обязательное поле",
                 id="empty-body"),
    pytest.param("email", "Счёт", "x" * 10_001, "body", "Текст шаблона: не длиннее 10000",
                 id="huge-body"),
    pytest.param("email", "", INVOICE_BODY, "subject",
                 "Тема письма: обязательное поле для e-mail", id="no-subject"),
    pytest.param("email", None, INVOICE_BODY, "subject",
                 "Тема письма: обязательное поле для e-mail", id="none-subject"),
    pytest.param("email", "Счёт\nBcc: all@example.ru", INVOICE_BODY, "subject",
                 "Тема письма: должна быть одной строкой", id="header-injection"),
    pytest.param("email", "Счёт {sum}", INVOICE_BODY, "subject",
                 "Тема письма: неизвестная подстановка {sum}", id="subject-unknown"),
    pytest.param("email", "Счёт {", INVOICE_BODY, "subject",
                 "Тема письма: непарная фигурная скобка", id="subject-brace"),
    pytest.param("email", "Т" * 151, INVOICE_BODY, "subject", "Тема письма: не длиннее 150",
                 id="subject-long"),
    pytest.param("sms", "Счёт", INVOICE_BODY, "subject",
                 "Тема письма: у SMS нет темы", id="sms-with-subject"),
    pytest.param("sms", None, "{account_name}" * 14, "body",
                 "Текст шаблона: SMS с примерными значениями занимает 308 символов, "
                 "допустимо не больше 300", id="sms-too-long"),
    pytest.param("sms", None, "{account_name}" * 13 + "x" * 15, "body",
                 "Текст шаблона: SMS с примерными значениями занимает 301", id="sms-301"),
])
def test_bad_templates_are_refused_naming_the_field(channel, subject, body, field, message):
    with pytest.raises(ValidationError) as error:
        rules.validate_template("new_invoice", channel, subject, body)
    assert str(error.value).startswith(message)
    assert error.value.field == field


@pytest.mark.parametrize(("topic", "channel", "field", "message"), [
    ("invoice", "email", "topic", "Вид уведомления: неизвестный вид «invoice»; допустимы: "
                                  "new_invoice, payment_result, news"),
    ("news", "telegram", "channel", "Канал: неизвестный канал «telegram»; допустимы: email, sms"),
])
def test_unknown_topic_or_channel_is_refused(topic, channel, field, message):
    with pytest.raises(ValidationError) as error:
        rules.validate_template(topic, channel, "Тема", "{text}")
    assert (str(error.value), error.value.field) == (message, field)


def test_sms_of_exactly_the_limit_after_filling_is_accepted():
    body = "{account_name}" * 13 + "x" * 14  # 13 x 22 + 14 = 300 characters filled
    assert rules.validate_template("new_invoice", "sms", None, body).body == body


def test_channel_enum_members_are_accepted_as_channels():
    template = rules.validate_template("news", Channel.SMS, "", "Новость: {text}")
    assert template == rules.Template("news", "sms", None, "Новость: {text}")


def test_validation_cleans_whitespace_of_subject_and_body():
    template = rules.validate_template("news", "email", "  Новости   сервиса ",
                                       "\r\n{text}\r\nС уважением\r\n")
    assert (template.subject, template.body) == ("Новости сервиса", "{text}\nС уважением")


def test_doubled_braces_print_braces():
    template = rules.validate_template("news", "sms", None, "{{скобки}} {text}")
    assert rules.render(template, {"text": "ok"}) == (None, "{скобки} ok")


def test_rendering_never_interprets_values_and_shows_a_dash_for_a_missing_one():
    template = rules.Template("new_invoice", "email", "Счёт {account_name}",
                              "{account_name} / {amount} / {period}")
    subject, body = rules.render(template, {"account_name": "{amount.__class__}\nBcc: x",
                                            "amount": 12})
    assert subject == "Счёт {amount.__class__} Bcc: x"  # one line whatever the value
    assert body == "{amount.__class__}\nBcc: x / 12 / —"


def test_period_is_the_month_in_russian():
    assert rules.format_period(date(2026, 11, 1)) == "ноябрь 2026"
    assert rules.format_period(date(2027, 1, 1)) == "январь 2027"


@pytest.mark.parametrize(("text", "parts"), [
    ("a" * 160, 1), ("a" * 161, 2), ("я" * 70, 1), ("я" * 71, 2), ("я" * 134, 2),
    ("я" * 135, 3),
])
def test_sms_parts_follow_gsm_and_ucs2_limits(text, parts):
    assert rules.sms_parts(text) == parts
