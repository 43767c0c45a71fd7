"""Notification topics, default subscriptions and message templates: pure rules.

A template is ``str.format`` text with named placeholders (``{amount}``) from a
fixed set per topic. Anything else a format string can do — attribute or index
access (``{amount.__class__}``, ``{0}``), conversions, format specs — is refused
by ``validate_template``, so an administrator's edit can neither break sending
nor reach into Python objects. Rendering fills plain strings through
``format_map`` with a dict that never raises; it never evaluates anything.

Channels are their string codes here ("email", "sms": the values of
``core.db.models.Channel``), so this module imports no SQLAlchemy.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from string import Formatter

from core.errors import ValidationError
from core.text import refuse_control_characters

EMAIL, SMS = "email", "sms"

TOPICS: dict[str, str] = {
    "new_invoice": "Новый счёт",
    "payment_result": "Результат платежа",
    "news": "Новости сервиса",
}
CHANNELS: dict[str, str] = {EMAIL: "E-mail", SMS: "SMS"}

# What a cabinet receives while it has no subscription row for a cell (cabinets
# registered through the service get explicit rows with these values; cabinets
# created in bulk, e.g. by the demo loader, have none and behave the same).
DEFAULT_SUBSCRIPTIONS: dict[tuple[str, str], bool] = {
    ("new_invoice", EMAIL): True, ("new_invoice", SMS): True,
    ("payment_result", EMAIL): True, ("payment_result", SMS): False,
    ("news", EMAIL): False, ("news", SMS): False,
}

PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "new_invoice": ("provider", "account", "account_name", "period", "amount", "due_date"),
    "payment_result": ("provider", "account", "amount", "status", "payment_id"),
    "news": ("text",),
}
PLACEHOLDER_LABELS: dict[str, str] = {
    "provider": "поставщик услуг", "account": "номер лицевого счёта",
    "account_name": "название счёта в кабинете", "period": "расчётный месяц",
    "amount": "сумма", "due_date": "оплатить до", "status": "итог платежа",
    "payment_id": "номер платежа", "text": "текст новости",
}
# Realistic values for previews and the SMS length check.
SAMPLE_VALUES: dict[str, dict[str, str]] = {
    "new_invoice": {"provider": "АО «Мосводоканал»", "account": "7712345678",
                    "account_name": "Квартира на Ленина, 15", "period": "ноябрь 2026",
                    "amount": "2 345,67\u00a0₽", "due_date": "25.12.2026"},
    "payment_result": {"provider": "ПАО «Мосэнергосбыт»", "account": "7712345678",
                       "amount": "1 234,56\u00a0₽", "status": "успешно оплачен",
                       "payment_id": "100234567"},
    "news": {"text": "С 1 декабря оплата без комиссии для всех поставщиков."},
}

SMS_MAX_LENGTH = 300  # after filling the sample values (about 5 Cyrillic SMS parts)
SUBJECT_MAX_LENGTH = 150  # as typed; the rendered subject is cut to the column's 200
BODY_MAX_LENGTH = 10_000

_MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
           "сентябрь", "октябрь", "ноябрь", "декабрь")


@dataclass(frozen=True)
class Template:
    topic: str
    channel: str  # "email" | "sms"
    subject: str | None  # e-mail only
    body: str


_EMAIL_FOOTER = ("\n\nЭто письмо отправлено автоматически, отвечать на него не нужно. "
                 "Подписки на уведомления меняются в личном кабинете, в разделе «Настройки».")

DEFAULT_TEMPLATES: dict[tuple[str, str], Template] = {(t.topic, t.channel): t for t in (
    Template("new_invoice", EMAIL, "Новый счёт: {provider} за {period}",
             "Здравствуйте!\n\n{provider} выставил счёт за {period} по лицевому счёту "
             "{account} ({account_name}).\n\nСумма к оплате: {amount}\n"
             "Оплатить до: {due_date}\n\nОплатить счёт можно в личном кабинете."
             + _EMAIL_FOOTER),
    Template("new_invoice", SMS, None,
             "Счёт за {period}, {provider}, л/с {account}: {amount}, оплатить до {due_date}."),
    Template("payment_result", EMAIL, "Платёж № {payment_id}: {status}",
             "Здравствуйте!\n\nПлатёж № {payment_id} на сумму {amount} в пользу {provider} "
             "по лицевому счёту {account}: {status}.\n\nКвитанция об оплате доступна "
             "в личном кабинете, в разделе «История операций»." + _EMAIL_FOOTER),
    Template("payment_result", SMS, None,
             "Платёж № {payment_id} на {amount}, {provider}, л/с {account}: {status}."),
    Template("news", EMAIL, "Новости сервиса оплаты услуг ЖКХ",
             "Здравствуйте!\n\n{text}" + _EMAIL_FOOTER),
    Template("news", SMS, None, "{text}"),
)}

# The result e-mail of a payment made without logging in («Произвольный платёж»): its payer
# may have no cabinet at all, so it points at the receipt it carries, not at «личный кабинет».
# Not editable: the administrators' «Результат платежа» is written for cabinets.
GUEST_PAYMENT_RESULT = Template(
    "payment_result", EMAIL, "Платёж № {payment_id}: {status}",
    "Здравствуйте!\n\nПлатёж № {payment_id} на сумму {amount} в пользу {provider} "
    "по лицевому счёту {account}: {status}.\n\nКассовый чек — ниже в этом письме; "
    "сохраните письмо, оно подтверждает оплату.\n\nЭто письмо отправлено автоматически, "
    "отвечать на него не нужно. Вы получили его, потому что указали этот адрес для чека "
    "при оплате.")


def check_topic(topic: str) -> str:
    if topic not in TOPICS:
        raise ValidationError("Вид уведомления",
                              f"неизвестный вид «{str(topic)[:30]}»; допустимы: "
                              + ", ".join(TOPICS), field="topic")
    return topic


def check_channel(channel: str) -> str:
    """The channel's code; accepts ``Channel`` members too (they are str enums)."""
    code = getattr(channel, "value", channel)
    if code not in CHANNELS:
        raise ValidationError("Канал", f"неизвестный канал «{str(code)[:30]}»; допустимы: "
                              + ", ".join(CHANNELS), field="channel")
    return str(code)


def format_period(period: date) -> str:
    """The first day of a billed month -> «ноябрь 2026»."""
    return f"{_MONTHS[period.month - 1]} {period.year}"


class _Values(dict):  # type: ignore[type-arg]
    """What ``format_map`` reads: a value nobody supplied shows as a dash, never raises."""

    def __missing__(self, key: str) -> str:
        return "—"


def _placeholders(text: str, label: str, field: str, allowed: tuple[str, ...]) -> None:
    """Refuse anything in ``text`` but literal text and {name} with name in ``allowed``."""
    allowed_text = ", ".join("{" + name + "}" for name in allowed)
    try:
        parts = list(Formatter().parse(text))
    except ValueError:
        raise ValidationError(label, "непарная фигурная скобка; чтобы вывести скобку, "
                              "удвойте её: {{ или }}", field=field) from None
    unknown: list[str] = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") \
            + (f":{spec}" if spec else "") + "}"
        if name == "" or name.isdigit():
            raise ValidationError(label, f"подстановка {shown} без имени недопустима; "
                                  f"используйте: {allowed_text}", field=field)
        if any(ch in name for ch in ".[]"):
            raise ValidationError(label, f"подстановка {shown} недопустима: обращения "
                                  f"через «.» и «[]» запрещены; используйте: {allowed_text}",
                                  field=field)
        if name not in allowed:
            unknown.append(shown)
            continue
        if spec or conversion:
            raise ValidationError(label, f"форматирование в подстановке {shown} "
                                  f"не поддерживается; пишите просто {{{name}}}", field=field)
    if unknown:
        word = "неизвестная подстановка" if len(unknown) == 1 else "неизвестные подстановки"
        raise ValidationError(label, f"{word} {', '.join(dict.fromkeys(unknown))}; "
                              f"допустимы: {allowed_text}", field=field)
    try:  # belt and braces: the checks above leave nothing that could fail here
        fill(text, {name: "x" for name in allowed})
    except (ValueError, KeyError, IndexError, AttributeError, TypeError):
        raise ValidationError(label, "шаблон не удаётся заполнить", field=field) from None


def fill(text: str, values: Mapping[str, object]) -> str:
    """Fill a validated template. Values become plain strings first."""
    return text.format_map(_Values({k: str(v) for k, v in values.items()}))


def validate_template(topic: str, channel: str, subject: str | None, body: str) -> Template:
    """The cleaned template, or a ValidationError naming the field in Russian."""
    topic, channel = check_topic(topic), check_channel(channel)
    allowed = PLACEHOLDERS[topic]
    text = refuse_control_characters(body, "Текст шаблона", "body").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError("Текст шаблона", "обязательное поле", field="body")
    if len(text) > BODY_MAX_LENGTH:
        raise ValidationError("Текст шаблона", f"не длиннее {BODY_MAX_LENGTH} символов",
                              field="body")
    _placeholders(text, "Текст шаблона", "body", allowed)
    raw_subject = refuse_control_characters(subject, "Тема письма", "subject").strip()
    title = " ".join(raw_subject.split())
    if channel == SMS:
        if title:
            raise ValidationError("Тема письма", "у SMS нет темы: оставьте поле пустым",
                                  field="subject")
        length = len(fill(text, SAMPLE_VALUES[topic]))
        if length > SMS_MAX_LENGTH:
            raise ValidationError("Текст шаблона", f"SMS с примерными значениями занимает "
                                  f"{length} символов, допустимо не больше {SMS_MAX_LENGTH}",
                                  field="body")
        return Template(topic, channel, None, text)
    if not title:
        raise ValidationError("Тема письма", "обязательное поле для e-mail", field="subject")
    if "\n" in raw_subject or "\r" in raw_subject:
        raise ValidationError("Тема письма", "должна быть одной строкой", field="subject")
    if len(title) > SUBJECT_MAX_LENGTH:
        raise ValidationError("Тема письма", f"не длиннее {SUBJECT_MAX_LENGTH} символов",
                              field="subject")
    _placeholders(title, "Тема письма", "subject", allowed)
    return Template(topic, channel, title, text)


def render(template: Template, values: Mapping[str, object]) -> tuple[str | None, str]:
    """(subject, body) of one message. The subject stays one line whatever the values."""
    subject = None
    if template.subject is not None:
        subject = " ".join(fill(template.subject, values).split())[:200]
    return subject, fill(template.body, values)


def sms_parts(text: str) -> int:
    """How many SMS a text takes: Cyrillic goes as UCS-2, 70 characters, 67 per part."""
    gsm = all(ord(ch) < 128 for ch in text)
    single, part = (160, 153) if gsm else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // part)
