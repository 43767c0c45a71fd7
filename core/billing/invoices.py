"""Providers' invoices as customers and staff read them, the customer's «оплачен»
mark, and the invoice status from payments. The billing-registry import lives in
``core.billing.invoice_import`` (re-exported here: ``invoices.import_billing_registry``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, null, select
from sqlalchemy.orm import Session

from core.actors import ActorKind, StaffActor, require_role
from core.app import App
from core.db.models import (AccountBinding, Invoice, InvoiceLine, InvoiceMark, Provider,
                            ProviderAccount, RegistryFile)
from core.billing.invoice_rules import InvoiceStatus
from core.billing import invoice_rules as rules
from core.errors import NotFound, ValidationError
from core.paging import Page, PageRequest, capped_count
from core.files import exports
from core.staff import audit, permissions
from core.customers.lifecycle import get_customer
from core.customers.sessions import signed_in_customer
from core.timefmt import MOSCOW


from core.billing.invoice_import import (  # noqa: F401 - the import's public names
    IMPORTERS, ImportReport, import_billing_registry,
)

VIEWERS = permissions.PERSONAL_DATA_READERS
HISTORY_LIMIT = 1000


# --- status from payments (called inside a payment's transaction) ------------

def apply_payment(session: Session, invoice_id: int, amount_kopecks: int) -> rules.Settlement:
    """A payment for the invoice succeeded: raise its paid amount and move its status."""
    return _settle(session, invoice_id, rules.InvoiceEvent.PAY, amount_kopecks)


def revert_payment(session: Session, invoice_id: int, amount_kopecks: int) -> rules.Settlement:
    """A payment for the invoice was refunded: lower its paid amount and move its status."""
    return _settle(session, invoice_id, rules.InvoiceEvent.REVERT, amount_kopecks)


def _settle(session: Session, invoice_id: int, event: rules.InvoiceEvent,
            amount: int) -> rules.Settlement:
    invoice = session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if invoice is None:
        raise NotFound("Счёт не найден")
    result = rules.settle(invoice.status, invoice.total_due, invoice.paid_amount, event, amount)
    invoice.status, invoice.paid_amount = result.status, result.paid_amount
    session.flush()
    return result


# --- read models ------------------------------------------------------------

@dataclass(frozen=True)
class InvoiceRow:
    id: int
    provider_id: int
    provider_name: str
    account_number: str
    account_name: str | None  # the customer's own name for the account (customer views only)
    period: date  # the first day of the billed month
    total_due: int  # kopecks
    paid_amount: int  # kopecks, from payments only
    status: InvoiceStatus
    due_date: date
    overdue: bool  # not paid in full and the due date has passed
    marked_paid: bool  # marked «оплачен» by this customer (staff views: by any customer)

    @property
    def status_label(self) -> str:
        return rules.status_label(self.status, self.marked_paid)

    @property
    def period_label(self) -> str:
        return rules.period_label(self.period)

    @property
    def amount_left(self) -> int:
        """Kopecks still to pay (never negative)."""
        return max(self.total_due - self.paid_amount, 0)


@dataclass(frozen=True)
class InvoiceLineView:
    line_no: int
    service: str
    unit: str
    volume: Decimal
    tariff: int  # kopecks per unit
    accrued: int  # kopecks
    recalculation: int
    debt: int  # debt positive, prepayment negative
    total: int


@dataclass(frozen=True)
class InvoiceDetail:
    invoice: InvoiceRow
    provider_inn: str
    address: str  # from the provider's register
    payer_masked: str
    lines: list[InvoiceLineView]
    registry_file_name: str | None  # None: not from a registry (demo data)
    created_at: datetime

    @property
    def accrued(self) -> int:
        return sum(line.accrued for line in self.lines)

    @property
    def recalculation(self) -> int:
        return sum(line.recalculation for line in self.lines)

    @property
    def debt(self) -> int:
        return sum(line.debt for line in self.lines)


def _today(app: App) -> date:
    return app.now().astimezone(MOSCOW).date()


def _marked(customer_id: int | None = None):  # type: ignore[no-untyped-def]
    condition = [InvoiceMark.invoice_id == Invoice.id, InvoiceMark.unmarked_at.is_(None)]
    if customer_id is not None:
        condition.append(InvoiceMark.customer_id == customer_id)
    return exists().where(*condition)


def _rows_query(marked: Any, account_name: Any = None):  # type: ignore[no-untyped-def]
    return (select(Invoice.id, Provider.id, Provider.name, ProviderAccount.number,
                   account_name if account_name is not None else null(),
                   Invoice.period, Invoice.total_due, Invoice.paid_amount, Invoice.status,
                   Invoice.due_date, marked.label("marked"))
            .join(ProviderAccount, ProviderAccount.id == Invoice.provider_account_id)
            .join(Provider, Provider.id == ProviderAccount.provider_id))


def _row(values: Any, today: date) -> InvoiceRow:
    (invoice_id, provider_id, provider_name, number, account_name, period, total_due, paid,
     status, due_date, marked) = values
    return InvoiceRow(id=invoice_id, provider_id=provider_id, provider_name=provider_name,
                      account_number=number, account_name=account_name, period=period,
                      total_due=total_due, paid_amount=paid, status=status, due_date=due_date,
                      overdue=status is not InvoiceStatus.PAID and due_date < today,
                      marked_paid=bool(marked))


def invoice_lines(s: Session, invoice_id: int) -> list[InvoiceLineView]:
    return [InvoiceLineView(l.line_no, l.service, l.unit, l.volume, l.tariff, l.accrued,
                            l.recalculation, l.debt, l.total)
            for l in s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
                               .order_by(InvoiceLine.line_no))]


def _detail(s: Session, row: InvoiceRow) -> InvoiceDetail:
    invoice = s.get(Invoice, row.id)
    assert invoice is not None
    account, provider = invoice.account, invoice.account.provider
    file_name = (s.scalar(select(RegistryFile.file_name)
                          .where(RegistryFile.id == invoice.registry_file_id))
                 if invoice.registry_file_id else None)
    return InvoiceDetail(invoice=row, provider_inn=provider.inn, address=account.address,
                         payer_masked=account.payer_masked, lines=invoice_lines(s, row.id),
                         registry_file_name=file_name, created_at=invoice.created_at)


# --- the customer's views and mark ------------------------------------------

def _bound_accounts(customer_id: int):  # type: ignore[no-untyped-def]
    """The customer's bound accounts with the customer's own names for them."""
    return (select(AccountBinding.provider_account_id, AccountBinding.name)
            .where(AccountBinding.customer_id == customer_id,
                   AccountBinding.removed_at.is_(None))
            .subquery())


def _customer_query(customer_id: int):  # type: ignore[no-untyped-def]
    bound = _bound_accounts(customer_id)
    return (_rows_query(_marked(customer_id), bound.c.name)
            .join(bound, bound.c.provider_account_id == Invoice.provider_account_id))


def invoices_to_pay(app: App, token: str) -> list[InvoiceRow]:
    """«К оплате»: per bound account its current (latest) invoice, if not yet paid in full
    and not marked «оплачен» by this customer. Older unpaid invoices are not offered: their
    debt is carried into the latest one's «Долг/аванс»."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now, reading=True)
        bound = _bound_accounts(customer.id)
        latest = (select(Invoice.provider_account_id, func.max(Invoice.period).label("period"))
                  .join(bound, bound.c.provider_account_id == Invoice.provider_account_id)
                  .group_by(Invoice.provider_account_id).subquery())
        query = (_customer_query(customer.id)
                 .join(latest, and_(latest.c.provider_account_id == Invoice.provider_account_id,
                                    latest.c.period == Invoice.period))
                 .where(Invoice.status.in_([InvoiceStatus.UNPAID,
                                            InvoiceStatus.PARTIALLY_PAID]),
                        ~_marked(customer.id))
                 .order_by(Invoice.period.desc(), Provider.name, Invoice.id))
        rows = s.execute(query).all()
        uow.commit()  # the session's last activity
    today = _today(app)
    return [_row(r, today) for r in rows]


def invoice_history(app: App, token: str) -> list[InvoiceRow]:
    """«Все счета»: every invoice of the bound accounts with its status and the mark."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now, reading=True)
        rows = s.execute(_customer_query(customer.id)
                         .order_by(Invoice.period.desc(), Provider.name, Invoice.id)
                         .limit(HISTORY_LIMIT)).all()
        uow.commit()
    today = _today(app)
    return [_row(r, today) for r in rows]


def customer_invoice_row(s: Session, customer_id: int, invoice_id: int,
                          today: date) -> InvoiceRow:
    found = s.execute(_customer_query(customer_id).where(Invoice.id == invoice_id)).first()
    if found is None:  # also an invoice of an account this cabinet has not bound
        raise NotFound("Счёт не найден")
    return _row(found, today)


def invoice_detail_for_customer(app: App, token: str, invoice_id: int) -> InvoiceDetail:
    """An invoice of a bound account with its charge breakdown."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now, reading=True)
        detail = _detail(s, customer_invoice_row(s, customer.id, invoice_id, _today(app)))
        uow.commit()
        return detail


def mark_paid(app: App, token: str, invoice_id: int) -> None:
    """«Отметить как оплаченный» (paid elsewhere): the customer's statement, not a payment."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        row = customer_invoice_row(s, customer.id, invoice_id, _today(app))
        if row.status is InvoiceStatus.PAID:
            raise rules.InvoiceError("Счёт уже оплачен: отметка не нужна")
        if row.marked_paid:
            raise rules.InvoiceError("Счёт уже отмечен как оплаченный")
        s.add(InvoiceMark(invoice_id=invoice_id, customer_id=customer.id, marked_at=now))
        audit.record(s, at=now, action="invoice.mark_paid", actor_kind=ActorKind.CUSTOMER,
                     customer_id=customer.id, after={"invoice_id": invoice_id})
        uow.commit()


def unmark_paid(app: App, token: str, invoice_id: int) -> None:
    """Take the customer's «оплачен» mark back; the invoice is «к оплате» again."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        customer_invoice_row(s, customer.id, invoice_id, _today(app))
        marks = list(s.scalars(select(InvoiceMark).where(
            InvoiceMark.invoice_id == invoice_id, InvoiceMark.customer_id == customer.id,
            InvoiceMark.unmarked_at.is_(None))))
        if not marks:
            raise rules.InvoiceError("Счёт не отмечен как оплаченный")
        for mark in marks:
            mark.unmarked_at = now
        audit.record(s, at=now, action="invoice.unmark_paid", actor_kind=ActorKind.CUSTOMER,
                     customer_id=customer.id, after={"invoice_id": invoice_id})
        uow.commit()


# --- staff views --------------------------------------------------------------

@dataclass(frozen=True)
class InvoiceFilter:
    provider_id: int | None = None
    period_from: date | None = None  # any day of the first month, inclusive
    period_to: date | None = None  # any day of the last month, inclusive
    status: InvoiceStatus | None = None
    account_number: str | None = None  # as typed; spaces and dashes are ignored
    overdue_only: bool = False  # not paid in full and past the due date


def _conditions(flt: InvoiceFilter, today: date) -> list[Any]:
    start = date(flt.period_from.year, flt.period_from.month, 1) if flt.period_from else None
    end = date(flt.period_to.year, flt.period_to.month, 1) if flt.period_to else None
    if start and end and start > end:
        raise ValidationError("Период", "месяц «с» позже месяца «по»", field="period_from")
    conditions: list[Any] = []
    if flt.provider_id is not None:
        conditions.append(ProviderAccount.provider_id == flt.provider_id)
    if start:
        conditions.append(Invoice.period >= start)
    if end:
        conditions.append(Invoice.period <= end)
    if flt.status is not None:
        conditions.append(Invoice.status == flt.status)
    if flt.overdue_only:
        # The statuses listed, not «!= paid»: that reads every invoice in period order.
        conditions += [Invoice.status.in_([InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID]),
                       Invoice.due_date < today]
    number = "".join(ch for ch in (flt.account_number or "") if ch.isalnum())
    if flt.account_number and not number:
        raise ValidationError("Лицевой счёт", "введите номер", field="account_number")
    if len(number) > 30:
        raise ValidationError("Лицевой счёт", "не длиннее 30 символов", field="account_number")
    if number:
        conditions.append(ProviderAccount.number.in_({number, number.upper()}))
    return conditions


def _staff_query(conditions: list[Any]):  # type: ignore[no-untyped-def]
    return (_rows_query(_marked()).where(*conditions)
            .order_by(Invoice.period.desc(), Invoice.id.desc()))


def list_invoices(app: App, actor: StaffActor, flt: InvoiceFilter,
                  page: PageRequest) -> Page[InvoiceRow]:
    """«Счета»: filtered in SQL, newest period first, a capped count."""
    require_role(actor, VIEWERS, "просмотр счетов")
    today = _today(app)
    conditions = _conditions(flt, today)
    with app.uow(write=False) as uow:
        s = uow.session
        total, capped = capped_count(s, select(Invoice.id)
                                     .join(ProviderAccount,
                                           ProviderAccount.id == Invoice.provider_account_id)
                                     .where(*conditions))
        rows = s.execute(_staff_query(conditions).limit(page.sql_limit).offset(page.sql_offset)).all()
    return Page(items=[_row(r, today) for r in rows], total=total, request=page,
                total_capped=capped)


def invoice_detail(app: App, actor: StaffActor, invoice_id: int) -> InvoiceDetail:
    require_role(actor, VIEWERS, "просмотр счетов")
    today = _today(app)
    with app.uow(write=False) as uow:
        s = uow.session
        found = s.execute(_staff_query([Invoice.id == invoice_id])).first()
        if found is None:
            raise NotFound("Счёт не найден")
        return _detail(s, _row(found, today))


def customer_invoices(app: App, actor: StaffActor, customer_id: int,
                      page: PageRequest) -> Page[InvoiceRow]:
    """The customer card's «Счета» tab: invoices of the accounts bound to that cabinet."""
    require_role(actor, VIEWERS, "счета клиента")
    today = _today(app)
    with app.uow(write=False) as uow:
        s = uow.session
        get_customer(s, customer_id)
        bound = _bound_accounts(customer_id)
        total, capped = capped_count(s, select(Invoice.id).join(
            bound, bound.c.provider_account_id == Invoice.provider_account_id))
        rows = s.execute(_customer_query(customer_id)
                         .order_by(Invoice.period.desc(), Provider.name, Invoice.id)
                         .limit(page.sql_limit).offset(page.sql_offset)).all()
    return Page(items=[_row(r, today) for r in rows], total=total, request=page,
                total_capped=capped)


EXPORT_COLUMNS = (
    exports.Column("Поставщик", width=34), exports.Column("Лицевой счёт", width=16),
    exports.Column("Период", width=14), exports.Column("К оплате", "money", 14),
    exports.Column("Оплачено", "money", 14), exports.Column("Статус", width=30),
    exports.Column("Срок оплаты", "date", 12), exports.Column("Просрочен", width=10))


def export_invoices(app: App, actor: StaffActor, flt: InvoiceFilter) -> bytes:
    """«Выгрузить в Excel»: every invoice matching the filter (not only the page), audited."""
    require_role(actor, VIEWERS, "выгрузка счетов")
    today = _today(app)
    conditions = _conditions(flt, today)

    def to_row(values: Any) -> tuple[Any, ...]:
        r = _row(values, today)
        return (r.provider_name, r.account_number, f"{r.period:%m.%Y}", r.total_due,
                r.paid_amount, r.status_label, r.due_date, "да" if r.overdue else "нет")

    return audit.journaled_export(app, actor, _staff_query(conditions), EXPORT_COLUMNS, to_row,
                                  sheet="Счета", action="invoice.export",
                                  details={"filter": _filter_json(flt)})


def _filter_json(flt: InvoiceFilter) -> dict[str, Any]:
    return {key: (value.isoformat() if isinstance(value, date) else
                  value.value if isinstance(value, InvoiceStatus) else value)
            for key, value in asdict(flt).items() if value not in (None, False, "")}
