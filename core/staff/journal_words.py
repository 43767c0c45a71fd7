"""The journal's rows as people read them: a Russian sentence, or «поле: было → стало».

A pure function of one audit row's action and its ``before`` / ``after`` detail. Keys get
Russian labels, kopecks read as ``1 234,56 ₽``, statuses and bank codes by their Russian
meaning, staff members and providers by name (``Names``, looked up by the caller). The
raw detail stays in the row for whoever needs it; nothing here changes it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core.actors import ROLE_LABELS, StaffRole
from core.billing.account_rules import SERVICE_KINDS
from core.billing.invoice_rules import STATUS_LABELS as INVOICE_STATUS_LABELS, InvoiceStatus
from core.customers.rules import CabinetStatus, format_phone
from core.finance.bank_profile import (AMOUNT_UNITS, COLUMN_LABELS as PROFILE_COLUMNS,
                                       ENCODINGS as PROFILE_ENCODINGS)
from core.finance.matching import CLASS_LABELS
from core.finance.resolutions import kind_label
from core.money import Money
from core.notifications.channels import MessageStatus
from core.notifications.template_rules import CHANNELS, TOPICS
from core.payments.bank_answers import bank_answer
from core.payments.machine import status_label as payment_status_label
from core.timefmt import format_date, format_datetime_msk

ARROW = " → "


@dataclass(frozen=True)
class Names:
    """Who and what the detail names by id or login, for the sentence to name them."""

    staff_by_login: Mapping[str, str] = field(default_factory=dict)
    staff_by_id: Mapping[int, str] = field(default_factory=dict)
    providers: Mapping[int, str] = field(default_factory=dict)


NO_NAMES = Names()

FIELD_LABELS: dict[str, str] = {
    "account_hint": "подсказка к номеру счёта", "account_number": "лицевой счёт",
    "account_pattern": "шаблон номера счёта", "address": "адрес",
    "addresses": "заблокированные адреса", "agreement_version": "версия соглашения",
    "amount": "сумма", "amount_from": "сумма от", "amount_to": "сумма до",
    "attempts": "попыток отправки", "auth_code": "код авторизации",
    "bank": "ответ банка", "bank_line_no": "строка реестра банка",
    "bank_lines": "строк в реестре банка", "bank_amount": "сумма банка",
    "our_amount": "сумма у нас", "paired_item_id": "сопоставлена со строкой сверки",
    "resolution_kind": "что сделано", "bank_resolution_kind": "что было сделано по строке банка",
    "our_resolution_kind": "что было сделано по платежу",
    "binding_id": "привязка", "birth_date": "дата рождения", "block_reason": "причина блокировки",
    "body": "текст", "card": "карта", "card_id": "карта", "card_saved": "карта сохранена",
    "channel": "канал", "check": "проверка", "closed_at": "закрыта",
    "comment": "прежнее решение", "commission_bp": "комиссия",
    "commission_min": "минимальная комиссия", "contact_phone": "телефон поставщика",
    "created": "добавлено", "customer_id": "клиент", "date_from": "с", "date_to": "по",
    "day": "день", "day_from": "с", "day_to": "по", "default": "стандартный шаблон",
    "default_card": "основная карта", "discrepancies": "расхождений", "email": "e-mail",
    "enabled": "подписка", "failures": "неверных ответов подряд", "file_name": "файл",
    "filter": "фильтр", "first_name": "имя", "for_everyone": "для всех адресов",
    "format": "формат", "grain": "шаг", "inn": "ИНН", "invoice_id": "счёт",
    "invoices": "счетов", "invoicing_enabled": "выставляет счета", "is_default": "основная",
    "item_id": "строка сверки", "journal_id": "проводка", "klass": "вид расхождения",
    "last_error": "последняя ошибка", "length": "длина заметки, символов",
    "locked": "заблокировано", "locked_until": "вход заблокирован до", "login": "сотрудник",
    "message_id": "сообщение", "name": "название", "net": "к перечислению",
    "number": "лицевой счёт", "outcome": "итог запроса", "overdue_only": "только просроченные",
    "ownership_proof": "подтверждение владения счётом", "patronymic": "отчество",
    "payment_id": "платёж", "payments": "платежей", "payments_total": "сумма платежей",
    "payout_id": "реестр перечислений", "period_from": "с", "period_to": "по",
    "phone": "телефон", "provider": "поставщик", "provider_id": "поставщик",
    "provider_ids": "поставщики", "query": "поиск", "reason": "причина",
    "refund_id": "возврат", "refunds_total": "сумма возвратов",
    "released_kopecks": "снято удержание",
    "removed": "удалена", "role": "роль", "rows": "строк", "run_closed": "сверка закрыта",
    "run_id": "сверка", "second_factor": "второй фактор входа", "service_kind": "вид услуг",
    "sessions_ended": "завершено сеансов",
    "sha256": "контрольная сумма файла", "content_sha256": "отпечаток строк реестра",
    "overlaps": "за те же дни уже были сверки", "sheets": "листов", "staff_id": "решил",
    "status": "статус", "subject": "тема", "surname": "фамилия", "topic": "рассылка",
    "total_due": "начислено", "updated": "обновлено", "via": "способ входа",
    "left": "осталось кодов восстановления", "recovery_codes": "кодов восстановления",
    "temporary": "выдан временный пароль", "temporary_replaced": "временный пароль заменён",
    # A bank profile (core.finance.bank_profile's file form) and the profiles file.
    "columns": "столбцы", "payment_words": "слова для оплаты",
    "refund_words": "слова для возврата", "amount_unit": "единица сумм",
    "date_format": "формат даты", "encoding": "кодировка",
    "fee_rate_bp": "тариф эквайринга", "fee_min": "минимальная комиссия банка",
    "names": "профили",
}

MONEY_KEYS = frozenset({"amount", "payments_total", "refunds_total", "net", "total_due",
                        "released_kopecks", "commission_min", "fee_min", "bank_amount",
                        "our_amount"})
_NUMBERED = {"payment_id": "№ {}", "refund_id": "№ {}", "invoice_id": "№ {}", "run_id": "№ {}",
             "payout_id": "№ {}", "item_id": "№ {}", "message_id": "№ {}", "binding_id": "№ {}",
             "paired_item_id": "№ {}",
             "card_id": "№ {}", "journal_id": "№ {}", "bank_line_no": "№ {}",
             "customer_id": "№ {}"}
_LOGIN_WAYS = {"password": "по паролю", "cookie": "без пароля: браузер помнил вход"}
_SESSION_ENDS = {
    "client_changed": "вход с другого устройства или браузера",
    "logout": "сотрудник вышел", "idle": "долгое бездействие",
    "password_change": "пароль изменён", "role_change": "роль изменена",
    "deactivated": "учётная запись отключена",
    "second_factor_reset": "второй фактор входа сброшен",
}
_SECOND_FACTORS = {"totp": "код из приложения", "recovery": "код восстановления",
                   "none": "без второго фактора"}
_LOCKED_COUNTERS = {"login_from_address": "логин с этого адреса", "address": "адрес",
                    "login": "логин для всех адресов"}
_ASK_OUTCOMES = {"rescheduled": "банк пока не ответил, запрос повторится",
                 "manual_review": "банк не ответил, нужен разбор сотрудником"}
_GRAINS = {"day": "по дням", "week": "по неделям", "month": "по месяцам"}
_FORMATS = {"xlsx": "Excel", "csv": "CSV", "json": "JSON"}
# A card check's statuses (core.payments.card_binding.STATUS_LABELS, which imports the
# journal: repeated here, and a test keeps the two in step).
BINDING_STATUS_LABELS = {
    "started": "проверяется", "awaiting_otp": "ожидает кода подтверждения",
    "confirming": "проверяется", "bound": "карта привязана", "declined": "отклонено",
    "expired": "истёк срок кода", "failed": "не выполнено",
}
_MESSAGE_STATUS_LABELS = {MessageStatus.QUEUED.value: "в очереди",
                          MessageStatus.SENT.value: "отправлено",
                          MessageStatus.FAILED.value: "не отправлено"}
_TEXT_LIMIT = 80


def _yes_no(value: Any) -> str:
    return "да" if value else "нет"


def _moment(value: Any) -> str:
    text = str(value)
    try:
        if len(text) == 10:
            return format_date(date.fromisoformat(text))
        return format_datetime_msk(datetime.fromisoformat(text))
    except ValueError:
        return text


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    return f"«{text[:_TEXT_LIMIT]}…»" if len(text) > _TEXT_LIMIT else f"«{text}»"


def _status(action: str, value: Any) -> str:
    area = action.split(".")[0]
    text = str(value)
    if area == "customer":
        try:
            return CabinetStatus(text).label
        except ValueError:
            return text
    if area == "outbox":
        return _MESSAGE_STATUS_LABELS.get(text, text)
    if area == "card":
        return BINDING_STATUS_LABELS.get(text, text)
    if area == "invoice":
        try:
            return INVOICE_STATUS_LABELS[InvoiceStatus(text)]
        except ValueError:
            return text
    return payment_status_label(text)


@dataclass
class _Entry:
    action: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    names: Names
    used: set[str] = field(default_factory=set)

    def get(self, key: str, side: str = "after") -> Any:
        """A value of the detail (``after`` first unless asked), marked as told."""
        self.used.add(key)
        first, second = (self.after, self.before) if side == "after" else (self.before, self.after)
        return first.get(key, second.get(key))

    def has(self, key: str) -> bool:
        return key in self.after or key in self.before

    def show(self, key: str, value: Any) -> str:
        """One value in words."""
        if value is None or value == "" or value == []:
            return "—"
        if key in MONEY_KEYS and isinstance(value, int) and not isinstance(value, bool):
            return Money(value).format()
        if isinstance(value, bool):
            return _yes_no(value)
        if key in _NUMBERED:
            return _NUMBERED[key].format(value)
        if key == "status":
            return _status(self.action, value)
        if key == "login":
            return self.names.staff_by_login.get(str(value), str(value))
        if key == "staff_id":
            return self.names.staff_by_id.get(value, f"сотрудник № {value}")
        if key == "provider_id":
            return self.names.providers.get(value, f"поставщик № {value}")
        if key == "provider_ids":
            return ", ".join(self.names.providers.get(v, f"№ {v}") for v in value)
        if key == "role":
            try:
                return ROLE_LABELS[StaffRole(value)]
            except ValueError:
                return str(value)
        if key == "topic":
            return f"«{TOPICS.get(value, value)}»"
        if key == "channel":
            return CHANNELS.get(value, str(value))
        if key == "service_kind":
            return SERVICE_KINDS.get(value, str(value))
        if key == "klass":
            return CLASS_LABELS.get(value, str(value)).lower()
        if key in ("resolution_kind", "bank_resolution_kind", "our_resolution_kind"):
            return f"«{kind_label(value)}»"
        if key == "bank":
            return bank_answer(value)
        if key == "outcome":
            return _ASK_OUTCOMES.get(value) or payment_status_label(value)
        if key == "via":
            return _LOGIN_WAYS.get(value, str(value))
        if key == "second_factor":
            return _SECOND_FACTORS.get(value, str(value))
        if key == "reason":
            return _SESSION_ENDS.get(value, str(value))
        if key == "locked" and isinstance(value, list):
            return ", ".join(_LOCKED_COUNTERS.get(v, str(v)) for v in value)
        if key == "grain":
            return _GRAINS.get(value, str(value))
        if key == "format":
            return _FORMATS.get(value, str(value))
        if key == "phone" or key == "contact_phone":
            return format_phone(str(value))
        if key == "columns" and isinstance(value, Mapping):
            return "; ".join(f"{PROFILE_COLUMNS.get(k, k)} — " + ", ".join(
                f"«{v}»" for v in (spellings if isinstance(spellings, list) else [spellings]))
                for k, spellings in value.items())
        if key == "amount_unit":
            return AMOUNT_UNITS.get(value, str(value))
        if key == "encoding":
            return PROFILE_ENCODINGS.get(value, str(value))
        if key in ("commission_bp", "fee_rate_bp") and isinstance(value, int):
            return f"{value / 100:.2f}".replace(".", ",") + " %"
        if key in ("sha256", "content_sha256"):
            return f"{str(value)[:12]}…"
        if key == "overlaps" and isinstance(value, list):
            return ", ".join(f"№ {v}" for v in value)
        if key == "filter" and isinstance(value, Mapping):
            inner = _Entry(self.action, {}, value, self.names)
            return inner.changes() or "нет"
        if key in ("day", "day_from", "day_to", "date_from", "date_to", "period_from",
                   "period_to", "birth_date", "closed_at", "locked_until"):
            return _moment(value)
        if key in ("body", "subject", "last_error", "comment", "block_reason", "query",
                   "name", "address", "check", "account_hint", "account_pattern"):
            return _short(value)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if isinstance(value, Mapping):
            return _Entry(self.action, {}, value, self.names).changes()
        return str(value)

    def value(self, key: str, side: str = "after") -> str:
        return self.show(key, self.get(key, side))

    def changes(self, skip: frozenset[str] | set[str] = frozenset()) -> str:
        """Every key not told yet: «поле: было → стало», or «поле: значение»."""
        parts = []
        for key in dict.fromkeys([*self.before, *self.after]):
            if key in skip:
                continue
            label = FIELD_LABELS.get(key, key.replace("_", " "))
            if key in self.before and key in self.after:
                old, new = self.show(key, self.before[key]), self.show(key, self.after[key])
                parts.append(f"{label}: {new}" if old == new else f"{label}: {old}{ARROW}{new}")
            else:
                side = self.after if key in self.after else self.before
                parts.append(f"{label}: {self.show(key, side[key])}")
        return "; ".join(parts)


def _refund(verb: str) -> Callable[[_Entry], str]:
    def sentence(e: _Entry) -> str:
        text = f"Возврат {e.value('refund_id')} на {e.value('amount')}"
        if e.has("payment_id"):
            text += f" по платежу {e.value('payment_id', 'before')}"
        text += verb
        if e.has("status"):
            text += f"; статус платежа: {e.value('status')}"
        return text
    return sentence


def _block(e: _Entry) -> str:
    text = "Кабинет заблокирован"
    if "status" in e.before and e.before["status"] != "blocked":
        text += f" (был: {e.value('status', 'before').lower()})"
    e.used.add("status")
    if e.has("sessions_ended"):
        ended = e.get("sessions_ended")
        text += f"; завершено сеансов: {ended}" if ended else "; открытых сеансов не было"
    return text


def _unblock(e: _Entry) -> str:
    text = f"Кабинет разблокирован, статус: {e.value('status').lower()}"
    if e.has("block_reason"):
        text += f"; причина блокировки была: {e.value('block_reason', 'before')}"
    return text


def _login(e: _Entry) -> str:
    text = f"Вход {e.value('via')}"
    factor = e.get("second_factor")
    if factor and factor != "none":
        text += f" и {_SECOND_FACTORS.get(factor, factor)}"
    return text


def _login_failed(e: _Entry) -> str:
    text = f"Неверный логин или пароль, адрес {e.value('address')}"
    if e.has("locked"):
        text += f"; вход заблокирован: {e.value('locked')}"
    return text


def _session_refused(e: _Entry) -> str:
    return f"Сеанс не принят: {e.value('reason')}"


def _ask_gateway(e: _Entry) -> str:
    before, after = e.value("status", "before"), e.value("status")
    text = f"Запрос в банк по платежу {e.value('payment_id', 'before')}: статус "
    text += before if before == after else f"{before}{ARROW}{after}"
    outcome = e.get("outcome")
    if outcome in _ASK_OUTCOMES:
        text += f" ({_ASK_OUTCOMES[outcome]})"
    return text


def _register(e: _Entry) -> str:
    return (f"Кабинет зарегистрирован: телефон {e.value('phone')}, e-mail {e.value('email')}; "
            f"принято соглашение версии {e.get('agreement_version')}")


def _subscription(e: _Entry) -> str:
    state = "включена" if e.get("enabled") else "выключена"
    return f"Рассылка {e.value('topic')} по каналу {e.value('channel')} {state}"


def _staff_add(e: _Entry) -> str:
    login = e.get("login")
    return (f"Сотрудник {e.show('login', login)} (логин {login}), роль: "
            f"{e.value('role').lower()}")


def _role_change(e: _Entry) -> str:
    return (f"{e.value('login', 'before')}: роль {e.value('role', 'before').lower()}{ARROW}"
            f"{e.value('role').lower()}")


def _staff_named(what: str) -> Callable[[_Entry], str]:
    return lambda e: f"{what}: {e.value('login')}"


def _export(e: _Entry) -> str:
    rows = e.get("rows")
    text = f"Выгружено строк: {rows}"
    if e.has("format"):
        text += f" ({e.value('format')})"
    return text


def _hold_released(e: _Entry) -> str:
    return (f"Снято удержание {e.value('released_kopecks')} с карты {e.get('card')} после "
            "проверки карты")


def _hold_not_placed(e: _Entry) -> str:
    return f"Банк не удерживал деньги при проверке карты: {e.value('bank')}"


def _card_bind(e: _Entry) -> str:
    text = f"Карта {e.get('card')} привязана"
    if e.get("is_default"):
        text += " и стала основной"
    return text


def _card_remove(e: _Entry) -> str:
    e.used.add("removed")
    text = f"Карта {e.get('card')} удалена"
    if e.has("default_card"):
        default = e.get("default_card")
        text += f"; основная карта теперь {default}" if default else "; основной карты нет"
    return text


def _note(e: _Entry) -> str:
    return f"Добавлена заметка ({e.get('length')} символов)"


def _code_word_check(e: _Entry) -> str:
    failures = e.get("failures")
    text = "Кодовое слово названо верно" if failures == 0 else (
        f"Кодовое слово названо неверно ({failures}-й раз подряд)")
    if e.get("locked"):
        text += "; проверки заблокированы"
    return text


def _receipt_resend(e: _Entry) -> str:
    text = f"Квитанция по платежу {e.value('payment_id')} отправлена повторно на {e.get('email')}"
    if e.has("message_id"):
        text += f" (сообщение {e.value('message_id')} в очереди отправки)"
    return text


def _bank_profile(verb: str) -> Callable[[_Entry], str]:
    def sentence(e: _Entry) -> str:
        old, new = e.get("name", "before"), e.get("name")
        text = f"Профиль банка {e.show('name', old)}{verb}"
        if old != new:
            text += f", новое название: {e.show('name', new)}"
        if e.has("file_name"):
            text += f" из файла {_short(e.get('file_name'))}"
        return text
    return sentence


_SENTENCES: dict[str, Callable[[_Entry], str]] = {
    "bank_profile.add": _bank_profile(" создан"),
    "bank_profile.update": _bank_profile(" изменён"),
    "bank_profile.delete": _bank_profile(" удалён"),
    "bank_profile.import": _bank_profile(" загружен"),
    "customer.block": _block,
    "customer.unblock": _unblock,
    "customer.unblock_override": _unblock,
    "customer.register": _register,
    "customer.code_word_check": _code_word_check,
    "customer.note_add": _note,
    "staff.login": _login,
    "staff.login_failed": _login_failed,
    "staff.cookie_refused": _session_refused,
    "staff.session_moved": _session_refused,
    "staff.add": _staff_add,
    "staff.role_change": _role_change,
    "staff.password_change": _staff_named("Пароль изменён"),
    "staff.activate": _staff_named("Учётная запись включена"),
    "staff.deactivate": _staff_named("Учётная запись отключена"),
    "staff.login_unlock": _staff_named("Вход снова открыт"),
    "subscription.change": _subscription,
    "payment.refund": _refund(" выполнен"),
    "payment.refund_request": _refund(" ждёт второго подтверждения"),
    "payment.refund_approve": _refund(" подтверждён"),
    "payment.refund_reject": _refund(" отклонён"),
    "payment.ask_gateway": _ask_gateway,
    "payment.receipt_resend": _receipt_resend,
    "card.hold_released": _hold_released,
    "card.hold_not_placed": _hold_not_placed,
    "card.bind": _card_bind,
    "card.remove": _card_remove,
    **{action: _export for action in (
        "customer.export", "audit.export", "invoice.export", "payment.export",
        "payout.list_export", "payout.export", "reconciliation.export", "analytics.export",
        "bank_profile.export")},
}


def describe(action: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
             names: Names = NO_NAMES) -> str:
    """One journal row's detail as a sentence; empty when the action carries none."""
    entry = _Entry(action, before or {}, after or {}, names)
    if not entry.before and not entry.after:
        return ""
    special = _SENTENCES.get(action)
    if special is None:
        return _capital(entry.changes())
    text = special(entry)
    rest = entry.changes(skip=entry.used)
    return f"{text}; {rest}" if rest else text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
