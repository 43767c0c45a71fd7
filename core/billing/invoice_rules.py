"""Invoice rules: billing periods, due dates, and the status an invoice has from payments.

Pure functions over plain values; the services apply them to rows. A status
moves only through ``TRANSITIONS`` (``settle`` raises on anything else); the
customer's own «оплачен» mark is a separate fact and never changes the status.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime

from core.errors import DomainError
from core.money import Money


class InvoiceStatus(str, enum.Enum):
    """Where an invoice stands by real payments (a customer's own mark is kept apart)."""

    UNPAID = "unpaid"  # nothing paid yet
    PARTIALLY_PAID = "partially_paid"  # paid, but less than the total due
    PAID = "paid"  # payments cover the total due


MONTHS_NOMINATIVE = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
                     "сентябрь", "октябрь", "ноябрь", "декабрь")
_MONTHS_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                    "сентября", "октября", "ноября", "декабря")
_MONTH_NUMBERS = {name: n for names in (MONTHS_NOMINATIVE, _MONTHS_GENITIVE)
                  for n, name in enumerate(names, start=1)}
# A registry may bill the next month ahead (advance invoices); anything later is a typo.
MAX_MONTHS_AHEAD = 1
# Older than this is a typo in the year too (a registry for 1926).
MAX_YEARS_BACK = 5

PERIOD_HINT = "ожидается месяц и год, например «11.2026», «2026-11» или «ноябрь 2026»"
DATE_HINT = "ожидается дата ДД.ММ.ГГГГ, например «25.11.2026»"

STATUS_LABELS = {InvoiceStatus.UNPAID: "Не оплачен",
                 InvoiceStatus.PARTIALLY_PAID: "Оплачен частично",
                 InvoiceStatus.PAID: "Оплачен"}
MARKED_LABEL = "Отмечен клиентом как оплаченный"


def status_label(status: InvoiceStatus, marked_paid: bool = False) -> str:
    """What people read: a real payment wins; a customer's mark shows only while unpaid."""
    if marked_paid and status is not InvoiceStatus.PAID:
        return MARKED_LABEL
    return STATUS_LABELS[status]


# --- periods and dates ------------------------------------------------------

class CellError(ValueError):
    """A registry cell that breaks a rule; ``str()`` is the Russian reason for the report."""


def _month_start(year: int, month: int) -> date:
    if not 1 <= month <= 12 or not 1900 <= year <= 9999:
        raise CellError(PERIOD_HINT)
    return date(year, month, 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(text: str) -> date:
    """«11.2026», «2026-11», «ноябрь 2026», «Ноября 2026 г.», «01.11.2026» -> 2026-11-01."""
    value = " ".join((text or "").split()).lower().rstrip(".")
    value = re.sub(r"\s*(г|года?)$", "", value)
    if m := re.fullmatch(r"(\d{1,2})[./-](\d{4})", value):
        return _month_start(int(m[2]), int(m[1]))
    if m := re.fullmatch(r"(\d{4})[./-](\d{1,2})", value):
        return _month_start(int(m[1]), int(m[2]))
    if m := re.fullmatch(r"([а-яё]+)\s+(\d{4})", value):
        month = _MONTH_NUMBERS.get(m[1].replace("ё", "е"))
        if month is None:
            raise CellError(PERIOD_HINT)
        return _month_start(int(m[2]), month)
    try:
        day = parse_date(value)
    except CellError:
        raise CellError(PERIOD_HINT) from None
    return date(day.year, day.month, 1)


def check_period(period: date, today: date) -> None:
    """A period more than a month ahead, or years back, is a mistake in the file."""
    latest = add_months(date(today.year, today.month, 1), MAX_MONTHS_AHEAD)
    if period > latest:
        raise CellError(f"{period_label(period)} — больше чем на месяц вперёд; самый поздний "
                        f"допустимый период сейчас — {period_label(latest)}")
    if period.year < today.year - MAX_YEARS_BACK:
        raise CellError(f"{period_label(period)} — старше {MAX_YEARS_BACK} лет")


def parse_date(text: str) -> date:
    """«25.11.2026», «25.11.26», «2026-11-25», with or without a time after it."""
    value = (text or "").strip()
    value = re.sub(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", value)
    for pattern in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y"):
        try:
            parsed = datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        if parsed.year >= 1900:
            return parsed
    raise CellError(DATE_HINT)


def period_label(period: date) -> str:
    """«ноябрь 2026»."""
    return f"{MONTHS_NOMINATIVE[period.month - 1]} {period.year}"


# --- status from payments ---------------------------------------------------

class InvoiceEvent(str, enum.Enum):
    """What happens to the amount paid on an invoice."""

    PAY = "pay"  # a payment for this invoice reached a final success
    REVERT = "revert"  # a payment for it was refunded or reversed


class Coverage(str, enum.Enum):
    """How much of the total due the payments cover after the event."""

    NONE = "none"  # nothing paid
    PART = "part"  # something, less than the total due
    FULL = "full"  # the total due (an invoice with nothing to pay is covered from the start)


# (state, event, coverage after it) -> next state. Anything not here is refused.
TRANSITIONS: dict[tuple[InvoiceStatus, InvoiceEvent, Coverage], InvoiceStatus] = {
    (InvoiceStatus.UNPAID, InvoiceEvent.PAY, Coverage.PART): InvoiceStatus.PARTIALLY_PAID,
    (InvoiceStatus.UNPAID, InvoiceEvent.PAY, Coverage.FULL): InvoiceStatus.PAID,
    (InvoiceStatus.PARTIALLY_PAID, InvoiceEvent.PAY, Coverage.PART): InvoiceStatus.PARTIALLY_PAID,
    (InvoiceStatus.PARTIALLY_PAID, InvoiceEvent.PAY, Coverage.FULL): InvoiceStatus.PAID,
    (InvoiceStatus.PARTIALLY_PAID, InvoiceEvent.REVERT, Coverage.PART):
        InvoiceStatus.PARTIALLY_PAID,
    (InvoiceStatus.PARTIALLY_PAID, InvoiceEvent.REVERT, Coverage.NONE): InvoiceStatus.UNPAID,
    (InvoiceStatus.PAID, InvoiceEvent.REVERT, Coverage.PART): InvoiceStatus.PARTIALLY_PAID,
    (InvoiceStatus.PAID, InvoiceEvent.REVERT, Coverage.NONE): InvoiceStatus.UNPAID,
}
_STATUS_OF_COVERAGE = {Coverage.NONE: InvoiceStatus.UNPAID,
                       Coverage.PART: InvoiceStatus.PARTIALLY_PAID,
                       Coverage.FULL: InvoiceStatus.PAID}


class InvoiceError(DomainError):
    code = "invoice_error"


class InvalidPaymentAmount(InvoiceError):
    code = "invoice_amount_invalid"

    def __init__(self) -> None:
        super().__init__("Сумма: должна быть больше нуля", field="amount")


class InvoiceAlreadyPaid(InvoiceError):
    code = "invoice_already_paid"

    def __init__(self) -> None:
        super().__init__("Счёт уже оплачен полностью: оплата по нему не принимается")


class Overpayment(InvoiceError):
    code = "invoice_overpayment"

    def __init__(self, remaining: int) -> None:
        super().__init__(f"Сумма: больше остатка к оплате по счёту ({Money(remaining)}); "
                         "излишек можно внести произвольным платежом", field="amount")
        self.remaining = remaining


class NothingToRevert(InvoiceError):
    code = "invoice_nothing_to_revert"

    def __init__(self) -> None:
        super().__init__("По счёту нет зачтённых платежей: возвращать нечего")


class RevertExceedsPaid(InvoiceError):
    code = "invoice_revert_exceeds_paid"

    def __init__(self, paid: int) -> None:
        super().__init__(f"Сумма возврата: больше оплаченного по счёту ({Money(paid)})",
                         field="amount")
        self.paid = paid


class IllegalInvoiceTransition(InvoiceError):
    code = "invoice_transition_illegal"

    def __init__(self, status: InvoiceStatus, event: InvoiceEvent) -> None:
        super().__init__(f"Счёт в состоянии «{STATUS_LABELS[status]}»: "
                         f"операция {event.value} невозможна")


def coverage(total_due: int, paid: int) -> Coverage:
    if paid >= total_due:
        return Coverage.FULL
    return Coverage.PART if paid > 0 else Coverage.NONE


def initial_status(total_due: int) -> InvoiceStatus:
    """A new invoice: unpaid, or paid from the start when a prepayment covers it (total ≤ 0)."""
    return _STATUS_OF_COVERAGE[coverage(total_due, 0)]


@dataclass(frozen=True)
class Settlement:
    status: InvoiceStatus
    paid_amount: int  # kopecks, from payments only


def settle(status: InvoiceStatus, total_due: int, paid_amount: int, event: InvoiceEvent,
           amount: int) -> Settlement:
    """The invoice after ``amount`` kopecks are paid on it or reverted; raises if illegal."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidPaymentAmount()
    if not any(key[:2] == (status, event) for key in TRANSITIONS):
        if event is InvoiceEvent.PAY:
            raise InvoiceAlreadyPaid()
        raise NothingToRevert()
    if event is InvoiceEvent.PAY:
        paid = paid_amount + amount
        if paid > max(total_due, 0):
            raise Overpayment(max(total_due - paid_amount, 0))
    else:
        paid = paid_amount - amount
        if paid < 0:
            raise RevertExceedsPaid(paid_amount)
    key = (status, event, coverage(total_due, paid))
    if key not in TRANSITIONS:
        raise IllegalInvoiceTransition(status, event)
    return Settlement(TRANSITIONS[key], paid)
