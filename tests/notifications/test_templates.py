"""Message templates: list, preview, save (administrators only), render for queuing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, MessageTemplate
from core.notifications.channels import Channel
from core.actors import PermissionDenied, StaffRole
from core.notifications import template_rules as rules, templates
from core.errors import ValidationError
from tests.factories.customers import make_staff
from tests.factories.dbstate import count, snapshot

EMAIL_BODY = "Счёт {provider} за {period}: {amount} до {due_date}. Счёт «{account_name}»."


def _audit(app):
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action.like("template.%")).order_by(AuditEntry.id)))


def test_list_shows_every_cell_with_the_shipped_defaults(app):
    admin = make_staff(app, StaffRole.ADMIN)
    listed = templates.list_templates(app, admin)
    assert [(t.topic, t.channel) for t in listed] == [
        (topic, Channel(channel)) for topic in rules.TOPICS for channel in rules.CHANNELS]
    first = listed[0]
    shipped = rules.DEFAULT_TEMPLATES[("new_invoice", "email")]
    assert (first.topic_label, first.channel_label, first.subject, first.body,
            first.is_default, first.updated_at, first.updated_by) == (
        "Новый счёт", "E-mail", shipped.subject, shipped.body, True, None, None)
    assert first.placeholders[0] == ("provider", "поставщик услуг")
    assert [name for name, _ in listed[-1].placeholders] == ["text"]


def test_preview_fills_sample_values_and_saves_nothing(app):
    agent = make_staff(app, StaffRole.AGENT)
    before = snapshot(app)
    shown = templates.preview_template(app, agent, "new_invoice", "email", "Счёт за {period}",
                                       EMAIL_BODY)
    assert shown.subject == "Счёт за ноябрь 2026"
    assert shown.body == ("Счёт АО «Мосводоканал» за ноябрь 2026: 2 345,67\u00a0₽ до 25.12.2026. "
                          "Счёт «Квартира на Ленина, 15».")
    assert (shown.length, shown.sms_parts, shown.channel) == (len(shown.body), None, Channel.EMAIL)
    sms = templates.preview_template(app, agent, "payment_result", Channel.SMS, None,
                                     "Платёж {payment_id}: {status}")
    assert (sms.subject, sms.body, sms.sms_parts) == (None, "Платёж 100234567: успешно оплачен", 1)
    assert snapshot(app) == before


def test_preview_raises_the_same_errors_as_saving(app):
    admin = make_staff(app, StaffRole.ADMIN)
    for call in (templates.preview_template, templates.save_template):
        with pytest.raises(ValidationError) as error:
            call(app, admin, "new_invoice", "sms", None, "Сумма {sum}")
        assert str(error.value).startswith("Текст шаблона: неизвестная подстановка {sum}; "
                                           "допустимы: {provider}, {account}")


def test_admin_saves_a_template_and_the_change_is_journaled(app, clock):
    admin = make_staff(app, StaffRole.ADMIN)
    assert templates.save_template(app, admin, "new_invoice", "email", " Счёт за {period} ",
                                   EMAIL_BODY)
    saved = templates.get_template(app, admin, "new_invoice", Channel.EMAIL)
    assert (saved.subject, saved.body, saved.is_default, saved.updated_at) == (
        "Счёт за {period}", EMAIL_BODY, False, clock.now())
    assert saved.updated_by == f"Сотрудник {admin.login}"
    [entry] = _audit(app)
    shipped = rules.DEFAULT_TEMPLATES[("new_invoice", "email")]
    assert (entry.action, entry.staff_id) == ("template.change", admin.staff_id)
    assert entry.before == {"topic": "new_invoice", "channel": "email", "default": True,
                            "subject": shipped.subject, "body": shipped.body}
    assert entry.after == {"topic": "new_invoice", "channel": "email",
                           "subject": "Счёт за {period}", "body": EMAIL_BODY}

    clock.advance(minutes=5)
    assert templates.save_template(app, admin, "new_invoice", "email", "Новый счёт", EMAIL_BODY)
    assert count(app, MessageTemplate) == 1
    second = _audit(app)[-1]
    assert (second.before["subject"], second.before["default"], second.after["subject"]) == (
        "Счёт за {period}", False, "Новый счёт")
    assert templates.get_template(app, admin, "new_invoice", "email").updated_at == clock.now()


def test_saving_the_text_in_use_changes_nothing(app):
    admin = make_staff(app, StaffRole.ADMIN)
    shipped = rules.DEFAULT_TEMPLATES[("news", "sms")]
    before = snapshot(app)
    assert templates.save_template(app, admin, "news", "sms", None, shipped.body) is False
    assert snapshot(app) == before


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.FINANCE, StaffRole.MANAGER])
def test_only_an_administrator_saves_or_resets(app, role):
    actor = make_staff(app, role)
    before = snapshot(app)
    with pytest.raises(PermissionDenied):
        templates.save_template(app, actor, "news", "sms", None, "Новость: {text}")
    with pytest.raises(PermissionDenied):
        templates.reset_template(app, actor, "news", "sms")
    assert snapshot(app) == before


@pytest.mark.parametrize("role", [StaffRole.FINANCE, StaffRole.MANAGER])
def test_finance_and_managers_do_not_see_templates(app, role):
    actor = make_staff(app, role)
    with pytest.raises(PermissionDenied):
        templates.list_templates(app, actor)
    with pytest.raises(PermissionDenied):
        templates.preview_template(app, actor, "news", "sms", None, "{text}")


@pytest.mark.parametrize(("topic", "channel", "subject", "body", "field"), [
    ("new_invoice", "email", "Счёт", "{amount.__class__}", "body"),
    ("new_invoice", "email", "", EMAIL_BODY, "subject"),
    ("new_invoice", "sms", None, "{amount} {", "body"),
    ("new_invoice", "sms", None, "", "body"),
    ("news", "sms", None, "{text}" * 6, "body"),
    ("bills", "sms", None, "{text}", "topic"),
    ("news", "fax", None, "{text}", "channel"),
])
def test_bad_template_is_not_saved(app, topic, channel, subject, body, field):
    admin = make_staff(app, StaffRole.ADMIN)
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        templates.save_template(app, admin, topic, channel, subject, body)
    assert error.value.field == field
    assert snapshot(app) == before


def test_render_uses_the_saved_template_then_the_default_after_a_reset(app):
    admin = make_staff(app, StaffRole.ADMIN)
    values = rules.SAMPLE_VALUES["new_invoice"]
    with app.uow(write=False) as uow:
        shipped = templates.render(uow.session, "new_invoice", "sms", values)
    assert shipped == (None, "Счёт за ноябрь 2026, АО «Мосводоканал», л/с 7712345678: "
                             "2 345,67\u00a0₽, оплатить до 25.12.2026.")
    templates.save_template(app, admin, "new_invoice", "sms", None, "Счёт {amount} до {due_date}")
    with app.uow(write=False) as uow:
        assert templates.render(uow.session, "new_invoice", Channel.SMS, values) == (
            None, "Счёт 2 345,67\u00a0₽ до 25.12.2026")
    assert templates.reset_template(app, admin, "new_invoice", "sms")
    assert templates.reset_template(app, admin, "new_invoice", "sms") is False
    with app.uow(write=False) as uow:
        assert templates.render(uow.session, "new_invoice", "sms", values) == shipped
    assert [e.action for e in _audit(app)] == ["template.change", "template.reset"]
    assert templates.get_template(app, admin, "new_invoice", "sms").is_default


def test_a_stored_template_that_no_longer_validates_falls_back_to_the_default(app, caplog):
    """Written around the service (an old row, a hand edit): sending must not break."""
    with app.uow() as uow:
        uow.session.add(MessageTemplate(topic="news", channel=Channel.EMAIL, subject="Новости",
                                        body="{text.__class__} {0}", updated_at=app.now()))
        uow.commit()
    with app.uow(write=False) as uow:
        subject, body = templates.render(uow.session, "news", "email", {"text": "Привет"})
    shipped = rules.DEFAULT_TEMPLATES[("news", "email")]
    assert subject == shipped.subject and body.startswith("Здравствуйте!\n\nПривет")
    assert "template news/email is invalid" in caplog.text
