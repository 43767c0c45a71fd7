"""Payments as staff and customers read them: the register with filters, a payment's
card with its event timeline and refunds, payments whose outcome is unknown, the
Excel export, a cabinet's payment history (staff) and «История операций» (customer).

Read models only: nothing here changes a payment. Every list is filtered in SQL
and paged on the server (see ``core.paging``); nothing loads a whole table.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, aliased

from core.actors import ActorKind, StaffActor, require_role
from core.app import App
from core.db.models import Customer, Invoice, Payment, PaymentEventRecord, Provider, Refund, StaffUser
from core.customers.rules import format_phone
from core.errors import NotFound, ValidationError
from core.money import MoneyFormatError, parse_rubles
from core.paging import Page, PageRequest, capped_count, moscow_date_conditions
from core.payments.machine import (
    AWAITING_PAYER, REFUNDABLE, UNDECIDED, PaymentStatus, event_label, status_label, values,
)
from core.files import exports
from core.payments import refund_machine
from core.payments.cards import brand_label
from core.staff import audit, permissions
from core.payments.state import ABANDON_AFTER
from core.payments.timeline_words import describe_event
from core.customers.lifecycle import get_customer
from core.customers.sessions import signed_in_customer
from core.timefmt import as_utc

# «Платежи»: agents look, finance and admins also act (money is theirs to move);
# managers have no page. Every viewer sees who paid (phone, receipt e-mail).
VIEWERS = permissions.PERSONAL_DATA_READERS
# «Выгрузить в Excel»: not for agents (view only).
EXPORTERS = permissions.MONEY_MOVERS
REFUNDERS = permissions.MONEY_MOVERS

# A payment still «created» or «awaiting_otp» after this long has an unknown outcome:
# the customer's flow was cut off somewhere; only a status query settles it.
STALE_AFTER = ABANDON_AFTER  # a payer who left lapses then; longer means it is stuck
HISTORY_LIMIT = 500  # «История операций»: the newest this many


AMOUNT_MAX = Decimal(100_000_000)  # 100 million rubles: more is a typo
PAYMENT_ID_MAX = 2**31 - 1  # payments.id is an INTEGER: a bigger number would fail the query
_CARD_SEPARATORS = re.compile(r"[\s\u00a0\-]")
_FULL_MASK = re.compile(r"([0-9]{6})[*xXхХ•.]+([0-9]{4})")


# --- filter -----------------------------------------------------------------------

@dataclass(frozen=True)
class PaymentFilter:
    """«Платежи» filters, as the page collects them (text fields as typed)."""

    date_from: date | None = None  # Moscow days, inclusive
    date_to: date | None = None
    status: PaymentStatus | str | None = None
    provider_id: int | None = None
    amount_from: str | None = None  # rubles as typed: «1 234,56»; the amount to the provider
    amount_to: str | None = None
    card: str | None = None  # last 4 digits, first 6, or the mask 411111******1111
    payment_id: str | int | None = None  # «Номер платежа»
    customer_id: int | None = None


def _amount(text: str | None, label: str, field_name: str) -> int | None:
    if text is None or not str(text).strip():
        return None
    try:
        money = parse_rubles(text, grouped=True, signed=False, trailing_zeros=True)
    except MoneyFormatError as error:
        problem = {"negative": "сумма не может быть отрицательной",
                   "too_long": "слишком большая сумма",
                   "too_precise": "не больше двух знаков после запятой"}.get(
                       error.reason, "введите сумму в рублях, например 1 234,56")
        raise ValidationError(label, problem, field=field_name) from None
    if money.amount > AMOUNT_MAX:
        raise ValidationError(label, "слишком большая сумма", field=field_name)
    return money.kopecks


def parse_payment_id(raw: str | int | None) -> int | None:
    """«Номер платежа» as typed («123», «№ 123») -> 123; a non-number is a ValidationError."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValidationError("Номер платежа", "введите номер цифрами", field="payment_id")
    if isinstance(raw, int):
        number = raw
    else:
        text = str(raw).strip().lstrip("№#").strip()
        if not text:
            return None
        if not text.isdigit() or not text.isascii():
            raise ValidationError("Номер платежа", "введите номер цифрами", field="payment_id")
        number = int(text)
    if number < 1 or number > PAYMENT_ID_MAX:
        raise ValidationError("Номер платежа", "такого номера не бывает", field="payment_id")
    return number


def card_condition(raw: str | None) -> Any:
    """SQL over ``masked_pan`` for what was typed in «Карта»; None when nothing was."""
    text = _CARD_SEPARATORS.sub("", str(raw or ""))
    if not text:
        return None
    digits = text.isascii() and text.isdigit()
    if digits and len(text) == 4:
        return Payment.pan_last4 == text
    if digits and len(text) == 6:
        return Payment.masked_pan.like(f"{text}%")
    full = _FULL_MASK.fullmatch(text)
    if full:
        return and_(Payment.pan_last4 == full.group(2),
                    Payment.masked_pan.like(f"{full.group(1)}%{full.group(2)}"))
    raise ValidationError("Карта", "введите последние 4 цифры, первые 6 цифр или маску вида "
                          "411111******1111", field="card")


def _status(raw: PaymentStatus | str | None) -> str | None:
    if raw is None or raw == "":
        return None
    try:
        return PaymentStatus(raw).value
    except ValueError:
        raise ValidationError("Статус", "неизвестный статус платежа", field="status") from None


def filter_conditions(flt: PaymentFilter) -> list[Any]:
    """The filter as SQL conditions over ``payments`` only (so counting needs no join).

    Bad input raises a ValidationError naming the field, before any query runs.
    """
    conditions = moscow_date_conditions(Payment.created_at, flt.date_from, flt.date_to)
    status = _status(flt.status)
    if status:
        conditions.append(Payment.status == status)
    if flt.provider_id is not None:
        conditions.append(Payment.provider_id == flt.provider_id)
    low = _amount(flt.amount_from, "Сумма от", "amount_from")
    high = _amount(flt.amount_to, "Сумма до", "amount_to")
    if low is not None and high is not None and low > high:
        raise ValidationError("Сумма от", "больше, чем «Сумма до»", field="amount_from")
    if low is not None:
        conditions.append(Payment.amount >= low)
    if high is not None:
        conditions.append(Payment.amount <= high)
    card = card_condition(flt.card)
    if card is not None:
        conditions.append(card)
    payment_id = parse_payment_id(flt.payment_id)
    if payment_id is not None:
        conditions.append(Payment.id == payment_id)
    if flt.customer_id is not None:
        conditions.append(Payment.customer_id == flt.customer_id)
    return conditions


def _filter_json(flt: PaymentFilter) -> dict[str, Any]:
    return {key: (value.isoformat() if isinstance(value, date) else
                  value.value if isinstance(value, PaymentStatus) else value)
            for key, value in asdict(flt).items() if value not in (None, "")}


# --- rows ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PaymentRow:
    id: int
    created_at: datetime
    status: str  # a PaymentStatus value
    status_label: str
    provider_id: int
    provider_name: str
    account_number: str
    amount: int  # kopecks to the provider
    commission: int  # kopecks, the agent's fee
    refunded_amount: int  # kopecks
    masked_pan: str | None
    card_brand: str | None
    rrn: str | None
    customer_id: int | None
    customer_phone: str | None  # formatted; None for payments without a cabinet
    receipt_email: str | None  # payments without a cabinet
    invoice_id: int | None

    @property
    def total(self) -> int:
        """What the card was charged: the amount plus the commission."""
        return self.amount + self.commission

    @property
    def payer(self) -> str:
        return self.customer_phone or self.receipt_email or ""


def _rows_query() -> Select[Any]:
    return (select(Payment.id, Payment.created_at, Payment.status, Payment.provider_id,
                   Provider.name, Payment.account_number, Payment.amount, Payment.commission,
                   Payment.refunded_amount, Payment.masked_pan, Payment.card_brand, Payment.rrn,
                   Payment.customer_id, Customer.phone, Payment.receipt_email,
                   Payment.invoice_id)
            .join(Provider, Provider.id == Payment.provider_id)
            .outerjoin(Customer, Customer.id == Payment.customer_id))


def _row(values: Any) -> PaymentRow:
    (pid, created_at, status, provider_id, provider_name, number, amount, commission, refunded,
     masked, brand, rrn, customer_id, phone, receipt_email, invoice_id) = values
    return PaymentRow(
        id=pid, created_at=created_at, status=status, status_label=status_label(status),
        provider_id=provider_id, provider_name=provider_name, account_number=number,
        amount=amount, commission=commission, refunded_amount=refunded, masked_pan=masked,
        card_brand=brand, rrn=rrn, customer_id=customer_id,
        customer_phone=format_phone(phone) if phone else None,
        receipt_email=receipt_email, invoice_id=invoice_id)


def _ordered(query: Select[Any]) -> Select[Any]:
    return query.order_by(Payment.created_at.desc(), Payment.id.desc())


def _page(s: Session, conditions: list[Any], page: PageRequest) -> Page[PaymentRow]:
    total, capped = capped_count(s, select(Payment.id).where(*conditions))
    rows = s.execute(_ordered(_rows_query().where(*conditions))
                     .limit(page.sql_limit).offset(page.sql_offset)).all()
    return Page(items=[_row(r) for r in rows], total=total, request=page,
                total_capped=capped)


def list_payments(app: App, actor: StaffActor, flt: PaymentFilter,
                  page: PageRequest) -> Page[PaymentRow]:
    """«Платежи»: filtered in SQL, newest first, a capped count."""
    require_role(actor, VIEWERS, "просмотр платежей")
    conditions = filter_conditions(flt)
    with app.uow(write=False) as uow:
        return _page(uow.session, conditions, page)


# --- one payment --------------------------------------------------------------------

@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    event: str
    label: str
    from_status: str | None
    from_label: str | None
    to_status: str
    to_label: str
    actor: str  # «Клиент …» with the customer's name, «Система» or the staff member's name
    details: dict[str, Any] | None  # as stored, for «Исходная запись»
    sentence: str = ""  # the details in words (timeline_words.describe_event)


@dataclass(frozen=True)
class RefundView:
    id: int
    created_at: datetime
    amount: int  # kopecks
    reason: str
    status: str
    status_label: str
    requested_by: str | None  # the staff member's name
    approved_by: str | None
    completed_at: datetime | None
    requested_by_id: int | None = None  # four-eyes: somebody else must approve
    review_comment: str | None = None  # why the second approver rejected it

    @property
    def awaiting_approval(self) -> bool:
        return self.status == refund_machine.RefundStatus.AWAITING_APPROVAL


@dataclass(frozen=True)
class InvoiceLink:
    id: int
    period: date  # the first day of the billed month

    @property
    def period_label(self) -> str:
        from core.billing.invoice_rules import period_label
        return period_label(self.period)


@dataclass(frozen=True)
class PaymentDetail:
    payment: PaymentRow
    provider_account_id: int | None
    invoice: InvoiceLink | None
    auth_code: str | None
    gateway_txn_id: str | None
    decline_code: str | None
    decline_reason: str | None
    updated_at: datetime
    finalized_at: datetime | None
    next_check_at: datetime | None
    check_attempts: int
    manual_review: bool
    events: list[TimelineEvent] = field(default_factory=list)
    refunds: list[RefundView] = field(default_factory=list)
    can_refund: bool = False  # the status allows it and the actor may
    refundable_amount: int = 0  # kopecks still refundable (open refund requests held back)
    is_unknown_outcome: bool = False  # pending, or created/awaiting_otp for too long

    @property
    def is_pending(self) -> bool:
        return self.payment.status == PaymentStatus.PENDING.value


def unknown_outcome(status: str, created_at: datetime, now: datetime) -> bool:
    if status == PaymentStatus.PENDING.value:
        return True
    return status in values(AWAITING_PAYER) and as_utc(now) - as_utc(created_at) > STALE_AFTER


def _unknown_condition(now: datetime) -> Any:
    # The status list comes first and alone: written as «pending OR (stale AND old)»,
    # SQLite turns the OR into a scan of every payment older than the cut-off.
    return and_(Payment.status.in_(values(UNDECIDED)),
                or_(Payment.status == PaymentStatus.PENDING.value,
                    Payment.created_at < now - STALE_AFTER))


def _events(s: Session, payment_id: int, customer: str | None) -> list[TimelineEvent]:
    rows = s.execute(select(PaymentEventRecord, StaffUser.name)
                     .outerjoin(StaffUser, StaffUser.id == PaymentEventRecord.staff_id)
                     .where(PaymentEventRecord.payment_id == payment_id)
                     .order_by(PaymentEventRecord.at, PaymentEventRecord.id)).all()
    result = []
    for event, name in rows:
        if event.actor_kind is ActorKind.STAFF:
            who = name or "Сотрудник"
        elif event.actor_kind is ActorKind.CUSTOMER:
            who = f"Клиент {customer}" if customer else "Клиент"
        else:
            who = "Система"
        result.append(TimelineEvent(
            at=event.at, event=event.event, label=event_label(event.event),
            from_status=event.from_status,
            from_label=status_label(event.from_status) if event.from_status else None,
            to_status=event.to_status, to_label=status_label(event.to_status), actor=who,
            details=event.details, sentence=describe_event(event.details)))
    return result


def _refunds(s: Session, payment_id: int) -> list[RefundView]:
    requested, approved = aliased(StaffUser), aliased(StaffUser)
    rows = s.execute(select(Refund, requested.name, approved.name)
                     .outerjoin(requested, requested.id == Refund.requested_by_staff_id)
                     .outerjoin(approved, approved.id == Refund.approved_by_staff_id)
                     .where(Refund.payment_id == payment_id)
                     .order_by(Refund.created_at, Refund.id)).all()
    return [RefundView(id=r.id, created_at=r.created_at, amount=r.amount, reason=r.reason,
                       status=r.status, status_label=refund_machine.status_label(r.status),
                       requested_by=req, approved_by=appr, completed_at=r.completed_at,
                       requested_by_id=r.requested_by_staff_id,
                       review_comment=r.review_comment)
            for r, req, appr in rows]


def payment_detail(app: App, actor: StaffActor, payment_id: int) -> PaymentDetail:
    """A payment's card: amounts, card, status, the event timeline and the refunds."""
    require_role(actor, VIEWERS, "просмотр платежей")
    now = app.now()
    with app.uow(write=False) as uow:
        s = uow.session
        found = s.execute(_rows_query().where(Payment.id == payment_id)).first()
        if found is None:
            raise NotFound("Платёж не найден")
        row = _row(found)
        payment = s.get(Payment, payment_id)
        assert payment is not None
        invoice = None
        if payment.invoice_id is not None:
            period = s.scalar(select(Invoice.period).where(Invoice.id == payment.invoice_id))
            invoice = InvoiceLink(payment.invoice_id, period) if period else None
        refunds = _refunds(s, payment_id)
        held = sum(r.amount for r in refunds if r.status in refund_machine.values(refund_machine.HOLDING))
        refundable_status = row.status in values(REFUNDABLE)
        refundable = max(payment.amount - payment.refunded_amount - held, 0) \
            if refundable_status else 0
        return PaymentDetail(
            payment=row, provider_account_id=payment.provider_account_id, invoice=invoice,
            auth_code=payment.auth_code, gateway_txn_id=payment.gateway_txn_id,
            decline_code=payment.decline_code, decline_reason=payment.decline_reason,
            updated_at=payment.updated_at, finalized_at=payment.finalized_at,
            next_check_at=payment.next_check_at, check_attempts=payment.check_attempts,
            manual_review=payment.manual_review,
            events=_events(s, payment_id, _customer_name(s, payment.customer_id)),
            refunds=refunds,
            can_refund=refundable_status and actor.role in REFUNDERS and refundable > 0,
            refundable_amount=refundable,
            is_unknown_outcome=unknown_outcome(payment.status, payment.created_at, now))


def _customer_name(s: Session, customer_id: int | None) -> str | None:
    """The payer's ФИО as the cabinet holds it (None without a cabinet or a name)."""
    if customer_id is None:
        return None
    found = s.execute(select(Customer.surname, Customer.first_name, Customer.patronymic)
                      .where(Customer.id == customer_id)).first()
    return " ".join(p for p in (found or ()) if p) or None


# --- unknown outcome --------------------------------------------------------------------

@dataclass(frozen=True)
class PendingRow:
    payment: PaymentRow
    check_attempts: int
    next_check_at: datetime | None
    manual_review: bool  # recovery gave up asking: a person must look at it

    @property
    def id(self) -> int:
        return self.payment.id


def pending_payments(app: App, actor: StaffActor, page: PageRequest) -> Page[PendingRow]:
    """«Неясный результат»: pending payments and ones stuck in created/awaiting_otp,
    those waiting for a person first, then the oldest."""
    require_role(actor, VIEWERS, "просмотр платежей")
    condition = _unknown_condition(app.now())
    with app.uow(write=False) as uow:
        s = uow.session
        total, capped = capped_count(s, select(Payment.id).where(condition))
        rows = s.execute(
            _rows_query().add_columns(Payment.check_attempts, Payment.next_check_at,
                                      Payment.manual_review)
            .where(condition)
            .order_by(Payment.manual_review.desc(), Payment.created_at, Payment.id)
            .limit(page.sql_limit).offset(page.sql_offset)).all()
    items = [PendingRow(payment=_row(r[:16]), check_attempts=r[16],
                        next_check_at=r[17], manual_review=bool(r[18])) for r in rows]
    return Page(items=items, total=total, request=page, total_capped=capped)


# --- export -------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    exports.Column("Номер", "int", 10), exports.Column("Создан", "datetime", 18),
    exports.Column("Статус", width=24), exports.Column("Поставщик", width=34),
    exports.Column("Лицевой счёт", width=16), exports.Column("Сумма", "money", 14),
    exports.Column("Комиссия", "money", 12), exports.Column("Итого списано", "money", 14),
    exports.Column("Возвращено", "money", 14), exports.Column("Карта", width=20),
    exports.Column("ID транзакции эквайера", width=26), exports.Column("RRN", width=14),
    exports.Column("Плательщик", width=24))


def export_payments(app: App, actor: StaffActor, flt: PaymentFilter) -> bytes:
    """«Выгрузить в Excel»: every payment matching the filter (not only the page), audited.
    The acquirer's transaction id and RRN are there so that a payment is found in the
    bank's registry (and a registry line among our payments)."""
    require_role(actor, EXPORTERS, "выгрузка платежей")
    conditions = filter_conditions(flt)

    def to_row(values: Any) -> tuple[Any, ...]:
        r = _row(values[:-1])
        card = f"{brand_label(r.card_brand)} {r.masked_pan}".strip() if r.masked_pan else ""
        return (r.id, r.created_at, r.status_label, r.provider_name, r.account_number,
                r.amount, r.commission, r.total, r.refunded_amount, card, values[-1] or "",
                r.rrn or "", r.payer)

    query = _rows_query().add_columns(Payment.gateway_txn_id).where(*conditions)
    return audit.journaled_export(app, actor, _ordered(query),
                                  EXPORT_COLUMNS, to_row, sheet="Платежи",
                                  action="payment.export",
                                  details={"filter": _filter_json(flt)})


# --- a cabinet's payments -------------------------------------------------------------------

def customer_payments(app: App, actor: StaffActor, customer_id: int, page: PageRequest,
                      date_from: date | None = None, date_to: date | None = None,
                      provider_account_id: int | None = None) -> Page[PaymentRow]:
    """The customer card's «Платежи» tab (opening the card is audited there)."""
    require_role(actor, VIEWERS, "платежи клиента")
    conditions = [Payment.customer_id == customer_id,
                  *moscow_date_conditions(Payment.created_at, date_from, date_to)]
    if provider_account_id is not None:
        conditions.append(Payment.provider_account_id == provider_account_id)
    with app.uow(write=False) as uow:
        get_customer(uow.session, customer_id)
        return _page(uow.session, conditions, page)


@dataclass(frozen=True)
class Operation:
    """One line of the customer's «История операций»."""

    id: int
    created_at: datetime
    status: str
    status_label: str
    provider_name: str
    account_number: str
    amount: int
    commission: int
    refunded_amount: int
    masked_pan: str | None
    card_brand: str | None
    decline_reason: str | None
    invoice_id: int | None

    @property
    def total(self) -> int:
        return self.amount + self.commission


def _account_number(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    number = "".join(ch for ch in raw if ch.isalnum())
    if not number:
        raise ValidationError("Лицевой счёт", "введите номер", field="account_number")
    if len(number) > 30:
        raise ValidationError("Лицевой счёт", "не длиннее 30 символов", field="account_number")
    return number


def operations_history(app: App, token: str, date_from: date | None = None,
                       date_to: date | None = None,
                       account_number: str | None = None) -> list[Operation]:
    """«История операций»: the customer's own payments, newest first, at most HISTORY_LIMIT."""
    conditions = moscow_date_conditions(Payment.created_at, date_from, date_to)
    number = _account_number(account_number)
    if number:
        conditions.append(Payment.account_number.in_({number, number.upper()}))
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now, reading=True)
        rows = s.execute(
            select(Payment.id, Payment.created_at, Payment.status, Provider.name,
                   Payment.account_number, Payment.amount, Payment.commission,
                   Payment.refunded_amount, Payment.masked_pan, Payment.card_brand,
                   Payment.decline_reason, Payment.invoice_id)
            .join(Provider, Provider.id == Payment.provider_id)
            .where(Payment.customer_id == customer.id, *conditions)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(HISTORY_LIMIT)).all()
        uow.commit()  # the session's last activity
    return [Operation(id=r[0], created_at=r[1], status=r[2], status_label=status_label(r[2]),
                      provider_name=r[3], account_number=r[4], amount=r[5], commission=r[6],
                      refunded_amount=r[7], masked_pan=r[8], card_brand=r[9],
                      decline_reason=r[10], invoice_id=r[11]) for r in rows]


def count_unknown(app: App, actor: StaffActor) -> int:
    """How many payments wait for a status query (for a badge); capped like any count."""
    require_role(actor, VIEWERS, "просмотр платежей")
    with app.uow(write=False) as uow:
        total, _ = capped_count(uow.session, select(Payment.id)
                                .where(_unknown_condition(app.now())))
    return total

