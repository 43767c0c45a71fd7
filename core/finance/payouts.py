"""Payout registries («реестры перечислений»): what we pay each provider for a Moscow day.

Definition. A provider's payout for Moscow day D (00:00–24:00 Europe/Moscow) is

* **payments**: the provider's payments that succeeded on D: status succeeded,
  partially_refunded or refunded, ``finalized_at`` within D. Each counts with its
  ``amount`` (what is owed to the provider); its ``commission`` is shown for
  information only: it is the agent's fee and is not paid out;
* **minus refunds**: refunds with status ``succeeded`` whose ``completed_at`` is within D,
  of that provider's payments, whatever day the payment itself was made (a refund of a
  payment already paid out is taken back from the day it happened);
* **net** = payments_total − refunds_total.

This is exactly how the ledger moves the provider's payable (``post_payment`` credits
``amount`` when the payment succeeds, ``post_refund`` debits the refund when it completes),
so the payouts of every day together pay out the whole payable.

Rules:

* Only a day that is over (before today, Moscow) can be produced: until its end new
  payments and refunds still arrive. Any day can be previewed.
* A payout with net ≤ 0 is not produced (``NothingToPay``): there is nothing to send.
  A day whose refunds exceed its payments leaves that difference in the provider's
  payable in the ledger (a debt of the provider); it is settled outside this registry.
* Producing writes, in one transaction: the ledger's payout journal (``post_payout`` with
  net: provider_payable +net / bank −net), the ``Payout`` row and an audit record. The
  unique (provider_id, day) constraint makes a second payout for the same day and
  provider impossible, also when two people press the button at the same moment
  (``AlreadyProduced``).

Registry file (CSV: UTF-8 with BOM, ``;``, decimal comma; or XLSX), one row per line:
«№ платежа», «Дата и время (МСК)» (payment: when it succeeded; refund: when it completed),
«Лицевой счёт», «Сумма» (rubles; a refund line is negative), «Комиссия» (payments only;
informational), «RRN», «Операция» («платёж» or «возврат № N»). Payments first, then
refunds, each by time. Below them three total rows: «Итого платежей» (count, sum,
commission), «Итого возвратов» (count, negative sum) and «К перечислению» (net, the
provider's name and INN, the registry's number and day). The lines are re-read from the
payments and refunds of that day and provider whenever the file is built; the file is
refused if they no longer add up to what was paid out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.actors import ActorKind, StaffActor, require_role
from core.app import App
from core.db.models import Payment, Payout, Provider, Refund, StaffUser
from core.errors import DomainError, NotFound, ValidationError
from core.money import Money
from core.paging import Page, PageRequest, capped_count
from core.finance import ledger
from core.payments import machine
from core.files import exports
from core.staff import audit, permissions
from core.timefmt import format_date, moscow_date, moscow_day_start

# «Реестры перечислений» move money to providers: finance and administrators; nobody else.
PAYOUT_ROLES = permissions.MONEY_MOVERS
WHAT = "реестры перечислений"
SUCCESSFUL = machine.values(machine.CHARGED)
REFUND_SUCCEEDED = "succeeded"
LINES_LIMIT = 500  # a preview shows at most this many lines per provider
FILE_LINES_LIMIT = 1_000_000
Format = Literal["csv", "xlsx"]

PAYMENT_OP, REFUND_OP = "payment", "refund"


# --- errors -------------------------------------------------------------------------

class PayoutError(DomainError):
    code = "payout_error"


class AlreadyProduced(PayoutError):
    code = "payout_already_produced"

    def __init__(self, provider_name: str, day: date, payout_id: int | None) -> None:
        number = f" (реестр № {payout_id})" if payout_id else ""
        super().__init__(f"Реестр перечислений поставщику «{provider_name}» за "
                         f"{format_date(day)} уже сформирован{number}; повторно его "
                         f"сформировать нельзя")


class NothingToPay(PayoutError):
    code = "payout_nothing_to_pay"

    def __init__(self, provider_name: str, day: date, payments: int, refunds: int) -> None:
        super().__init__(
            f"Реестр перечислений поставщику «{provider_name}» за {format_date(day)} не "
            f"сформирован: сумма к перечислению {Money(payments - refunds)} (платежи "
            f"{Money(payments)} минус возвраты {Money(refunds)}); перечислять можно только "
            f"сумму больше нуля")


# --- read models --------------------------------------------------------------------

@dataclass(frozen=True)
class PayoutLine:
    """One line of a registry; amounts in kopecks (a refund's ``amount`` is negative)."""

    operation: str  # PAYMENT_OP or REFUND_OP
    payment_id: int
    refund_id: int | None
    at: datetime  # the payment's success or the refund's completion
    account_number: str
    amount: int
    commission: int  # payments only; 0 on refund lines
    rrn: str | None

    @property
    def operation_label(self) -> str:
        return "платёж" if self.operation == PAYMENT_OP else f"возврат № {self.refund_id}"


@dataclass(frozen=True)
class PayoutView:
    """A produced payout (amounts in kopecks)."""

    id: int
    provider_id: int
    provider_name: str
    day: date
    payments_count: int
    payments_total: int
    refunds_total: int
    commission_total: int
    net_amount: int
    journal_id: int | None
    produced_by: str  # the staff member's name, or «Система» (command line)
    created_at: datetime


@dataclass(frozen=True)
class PayoutPreview:
    """What a provider would be paid for a day (kopecks), and its payout if produced."""

    provider_id: int
    provider_name: str
    day: date
    payments_count: int
    payments_total: int
    refunds_count: int
    refunds_total: int
    commission_total: int
    lines: list[PayoutLine]
    lines_truncated: bool  # more than LINES_LIMIT lines: the file has them all
    produced: PayoutView | None

    @property
    def net(self) -> int:
        return self.payments_total - self.refunds_total

    @property
    def can_produce(self) -> bool:
        return self.produced is None and self.net > 0


# --- the day's figures, in SQL ------------------------------------------------------

def _window(day: date) -> tuple[datetime, datetime]:
    return moscow_day_start(day), moscow_day_start(day + timedelta(days=1))


def _payment_conditions(day: date, provider_id: int | None) -> list[Any]:
    start, end = _window(day)
    conditions = [Payment.status.in_(SUCCESSFUL), Payment.finalized_at >= start,
                  Payment.finalized_at < end]
    if provider_id is not None:
        conditions.append(Payment.provider_id == provider_id)
    return conditions


def _refund_conditions(day: date, provider_id: int | None) -> list[Any]:
    start, end = _window(day)
    conditions = [Refund.status == REFUND_SUCCEEDED, Refund.completed_at >= start,
                  Refund.completed_at < end]
    if provider_id is not None:
        conditions.append(Payment.provider_id == provider_id)
    return conditions


@dataclass(frozen=True)
class _Sums:
    payments_count: int = 0
    payments_total: int = 0
    commission_total: int = 0
    refunds_count: int = 0
    refunds_total: int = 0


def _sums(s: Session, day: date, provider_id: int | None) -> dict[int, _Sums]:
    """Per provider: the day's payments and refunds, summed by the database (GROUP BY)."""
    paid = s.execute(select(Payment.provider_id, func.count(), func.sum(Payment.amount),
                            func.sum(Payment.commission))
                     .where(*_payment_conditions(day, provider_id))
                     .group_by(Payment.provider_id)).all()
    refunded = s.execute(select(Payment.provider_id, func.count(), func.sum(Refund.amount))
                         .join(Payment, Payment.id == Refund.payment_id)
                         .where(*_refund_conditions(day, provider_id))
                         .group_by(Payment.provider_id)).all()
    result: dict[int, _Sums] = {}
    for pid, count, total, commission in paid:
        result[pid] = _Sums(int(count), int(total or 0), int(commission or 0))
    for pid, count, total in refunded:
        base = result.get(pid, _Sums())
        result[pid] = _Sums(base.payments_count, base.payments_total, base.commission_total,
                            int(count), int(total or 0))
    return result


def _lines_query(day: date, provider_id: int) -> tuple[Select[Any], Select[Any]]:
    payments = (select(Payment.id, Payment.finalized_at, Payment.account_number, Payment.amount,
                       Payment.commission, Payment.rrn)
                .where(*_payment_conditions(day, provider_id))
                .order_by(Payment.finalized_at, Payment.id))
    refunds = (select(Refund.id, Refund.payment_id, Refund.completed_at, Payment.account_number,
                      Refund.amount, Payment.rrn)
               .join(Payment, Payment.id == Refund.payment_id)
               .where(*_refund_conditions(day, provider_id))
               .order_by(Refund.completed_at, Refund.id))
    return payments, refunds


def _lines(s: Session, day: date, provider_id: int, limit: int) -> list[PayoutLine]:
    payments, refunds = _lines_query(day, provider_id)
    lines = [PayoutLine(PAYMENT_OP, pid, None, at, account, amount, commission, rrn)
             for pid, at, account, amount, commission, rrn in s.execute(payments.limit(limit))]
    lines += [PayoutLine(REFUND_OP, payment_id, rid, at, account, -amount, 0, rrn)
              for rid, payment_id, at, account, amount, rrn in s.execute(refunds.limit(limit))]
    return lines


def _view(p: Payout, provider_name: str, staff_name: str | None) -> PayoutView:
    return PayoutView(id=p.id, provider_id=p.provider_id, provider_name=provider_name, day=p.day,
                      payments_count=p.payments_count, payments_total=p.payments_total,
                      refunds_total=p.refunds_total, commission_total=p.commission_total,
                      net_amount=p.net_amount, journal_id=p.journal_id,
                      produced_by=staff_name or "Система", created_at=p.created_at)


def _views_query() -> Select[Any]:
    return (select(Payout, Provider.name, StaffUser.name)
            .join(Provider, Provider.id == Payout.provider_id)
            .outerjoin(StaffUser, StaffUser.id == Payout.staff_id))


# --- validation -----------------------------------------------------------------------

def _day(value: object, label: str = "День", field: str = "day") -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(label, "выберите дату", field=field)
    return value


def _provider(s: Session, provider_id: object) -> Provider:
    if isinstance(provider_id, bool) or not isinstance(provider_id, int):
        raise ValidationError("Поставщик", "выберите поставщика", field="provider_id")
    provider = s.get(Provider, provider_id)
    if provider is None:
        raise NotFound(f"Поставщик: поставщик № {provider_id} не найден")
    return provider


# --- use cases --------------------------------------------------------------------------

def preview(app: App, actor: StaffActor, day: date, provider_id: int | None = None, *,
            lines_limit: int = LINES_LIMIT) -> list[PayoutPreview]:
    """What each provider would be paid for ``day`` (those with movements or a payout),
    by provider name; with up to ``lines_limit`` lines of each kind per provider."""
    require_role(actor, PAYOUT_ROLES, WHAT)
    day = _day(day)
    with app.uow(write=False) as uow:
        s = uow.session
        if provider_id is not None:
            _provider(s, provider_id)
        sums = _sums(s, day, provider_id)
        produced_q = _views_query().where(Payout.day == day)
        if provider_id is not None:
            produced_q = produced_q.where(Payout.provider_id == provider_id)
        produced = {p.provider_id: _view(p, name, who) for p, name, who in s.execute(produced_q)}
        ids = set(sums) | set(produced)
        names = dict(s.execute(select(Provider.id, Provider.name)
                               .where(Provider.id.in_(ids))).all()) if ids else {}
        result = []
        for pid in sorted(ids, key=lambda i: (names.get(i, ""), i)):
            figures = sums.get(pid, _Sums())
            lines = _lines(s, day, pid, lines_limit + 1)
            payment_lines = [x for x in lines if x.operation == PAYMENT_OP]
            refund_lines = [x for x in lines if x.operation == REFUND_OP]
            truncated = len(payment_lines) > lines_limit or len(refund_lines) > lines_limit
            result.append(PayoutPreview(
                provider_id=pid, provider_name=names.get(pid, str(pid)), day=day,
                payments_count=figures.payments_count, payments_total=figures.payments_total,
                refunds_count=figures.refunds_count, refunds_total=figures.refunds_total,
                commission_total=figures.commission_total,
                lines=payment_lines[:lines_limit] + refund_lines[:lines_limit],
                lines_truncated=truncated, produced=produced.get(pid)))
    return result


def produce(app: App, actor: StaffActor | None, day: date, provider_id: int) -> PayoutView:
    """Produce the payout of ``provider_id`` for ``day``: ledger journal, ``Payout`` row and
    audit record in one transaction. ``actor`` None is the operator's command line."""
    if actor is not None:
        require_role(actor, PAYOUT_ROLES, WHAT)
    day = _day(day)
    now = app.now()
    if day >= moscow_date(now):
        raise ValidationError("День", "реестр формируется только за прошедший день (по "
                              "московскому времени): до конца дня ещё возможны платежи и "
                              "возвраты", field="day")
    try:
        with app.uow() as uow:
            s = uow.session
            provider = _provider(s, provider_id)
            name = provider.name
            existing = s.scalar(select(Payout.id).where(Payout.provider_id == provider.id,
                                                        Payout.day == day))
            if existing is not None:
                raise AlreadyProduced(name, day, existing)
            figures = _sums(s, day, provider.id).get(provider.id, _Sums())
            net = figures.payments_total - figures.refunds_total
            if net <= 0:
                raise NothingToPay(name, day, figures.payments_total, figures.refunds_total)
            journal_id = ledger.post_payout(
                s, provider_id=provider.id, amount=net, at=now,
                memo=f"Реестр перечислений поставщику «{name}» за {format_date(day)}")
            row = Payout(provider_id=provider.id, day=day,
                         payments_count=figures.payments_count,
                         payments_total=figures.payments_total,
                         refunds_total=figures.refunds_total,
                         commission_total=figures.commission_total, net_amount=net,
                         journal_id=journal_id,
                         staff_id=actor.staff_id if actor else None, created_at=now)
            s.add(row)
            s.flush()  # a parallel payout of the same day and provider fails here
            audit.record(s, at=now, action="payout.produce", actor=actor,
                         actor_kind=None if actor else ActorKind.SYSTEM,
                         actor_label=None if actor else "командная строка",
                         after={"payout_id": row.id, "provider_id": provider.id,
                                "day": day.isoformat(), "payments": figures.payments_count,
                                "payments_total": figures.payments_total,
                                "refunds_total": figures.refunds_total,
                                "net": net, "journal_id": journal_id})
            staff_name = None
            if actor is not None:
                staff_name = s.scalar(select(StaffUser.name)
                                      .where(StaffUser.id == actor.staff_id))
            view = _view(row, name, staff_name)
            uow.commit()
    except IntegrityError:  # produced by a parallel call a moment ago
        with app.uow(write=False) as uow:
            name = uow.session.scalar(select(Provider.name).where(Provider.id == provider_id))
            existing = uow.session.scalar(select(Payout.id).where(
                Payout.provider_id == provider_id, Payout.day == day))
        raise AlreadyProduced(name or str(provider_id), day, existing) from None
    return view


def list_payouts(app: App, actor: StaffActor, page: PageRequest, day_from: date | None = None,
                 day_to: date | None = None,
                 provider_id: int | None = None) -> Page[PayoutView]:
    """Produced payouts, newest day first, filtered by day range and provider."""
    require_role(actor, PAYOUT_ROLES, WHAT)
    conditions = _list_conditions(day_from, day_to, provider_id)
    with app.uow(write=False) as uow:
        s = uow.session
        total, capped = capped_count(s, select(Payout.id).where(*conditions))
        rows = s.execute(_views_query().where(*conditions)
                         .order_by(Payout.day.desc(), Payout.id.desc())
                         .limit(page.sql_limit).offset(page.sql_offset)).all()
    return Page(items=[_view(*row) for row in rows], total=total, request=page,
                total_capped=capped)


def _list_conditions(day_from: date | None, day_to: date | None,
                     provider_id: int | None) -> list[Any]:
    if day_from is not None:
        day_from = _day(day_from, "Период с", "day_from")
    if day_to is not None:
        day_to = _day(day_to, "Период по", "day_to")
    if day_from and day_to and day_from > day_to:
        raise ValidationError("Период", "дата «с» позже даты «по»", field="day_from")
    conditions: list[Any] = []
    if day_from:
        conditions.append(Payout.day >= day_from)
    if day_to:
        conditions.append(Payout.day <= day_to)
    if provider_id is not None:
        conditions.append(Payout.provider_id == provider_id)
    return conditions


def providers_to_pay(app: App, day: date) -> list[int]:
    """The operator's command line: providers with a positive net for ``day`` and no payout
    yet (by id)."""
    day = _day(day)
    with app.uow(write=False) as uow:
        sums = _sums(uow.session, day, None)
        done = set(uow.session.scalars(select(Payout.provider_id).where(Payout.day == day)))
    return sorted(pid for pid, f in sums.items()
                  if pid not in done and f.payments_total - f.refunds_total > 0)


def cli_list(app: App, day: date | None = None, provider_id: int | None = None,
             limit: int = 1000) -> list[PayoutView]:
    """The operator's command line: produced payouts (of a day, a provider), newest first."""
    conditions = _list_conditions(day, day, provider_id)
    with app.uow(write=False) as uow:
        rows = uow.session.execute(_views_query().where(*conditions)
                                   .order_by(Payout.day.desc(), Payout.id.desc())
                                   .limit(limit)).all()
    return [_view(*row) for row in rows]


LIST_COLUMNS = (
    exports.Column("№ реестра", "int", 10), exports.Column("День", "date", 12),
    exports.Column("Поставщик", width=34), exports.Column("Платежей", "int", 10),
    exports.Column("Платежи", "money", 16), exports.Column("Возвраты", "money", 16),
    exports.Column("Комиссия", "money", 14), exports.Column("К перечислению", "money", 18),
    exports.Column("Сформировал", width=26), exports.Column("Когда", "datetime", 18))


def export_payouts(app: App, actor: StaffActor, day_from: date | None = None,
                   day_to: date | None = None, provider_id: int | None = None) -> bytes:
    """«Выгрузить в Excel» for the filtered list of payouts (journaled)."""
    require_role(actor, PAYOUT_ROLES, WHAT)
    conditions = _list_conditions(day_from, day_to, provider_id)
    statement = _views_query().where(*conditions).order_by(Payout.day.desc(), Payout.id.desc())

    def row(r: Any) -> tuple[Any, ...]:
        v = _view(*r)
        return (v.id, v.day, v.provider_name, v.payments_count, v.payments_total,
                v.refunds_total, v.commission_total, v.net_amount, v.produced_by, v.created_at)

    return audit.journaled_export(
        app, actor, statement, LIST_COLUMNS, row, sheet="Реестры", action="payout.list_export",
        details={"day_from": day_from.isoformat() if day_from else None,
                 "day_to": day_to.isoformat() if day_to else None, "provider_id": provider_id})


# --- the registry file ------------------------------------------------------------------

FILE_COLUMNS = (
    exports.Column("№ платежа", width=16), exports.Column("Дата и время (МСК)", "datetime", 18),
    exports.Column("Лицевой счёт", width=34), exports.Column("Сумма", "money", 16),
    exports.Column("Комиссия", "money", 14), exports.Column("RRN", width=14),
    exports.Column("Операция", width=34))


def payout_file_name(view: PayoutView, fmt: Format) -> str:
    return f"reestr_perechisleniy_{view.provider_id}_{view.day:%Y-%m-%d}_{view.id}.{fmt}"


def get_payout(app: App, actor: StaffActor, payout_id: int) -> PayoutView:
    require_role(actor, PAYOUT_ROLES, WHAT)
    with app.uow(write=False) as uow:
        row = uow.session.execute(_views_query().where(Payout.id == payout_id)).first()
    if row is None:
        raise NotFound(f"Реестр перечислений № {payout_id} не найден")
    return _view(*row)


def payout_file(app: App, actor: StaffActor, payout_id: int, fmt: Format) -> bytes:
    """The registry of a produced payout as CSV or XLSX (the format in the module
    docstring); the export is recorded in the audit log."""
    require_role(actor, PAYOUT_ROLES, WHAT)
    if fmt not in ("csv", "xlsx"):
        raise ValidationError("Формат файла", "CSV или Excel (xlsx)", field="fmt")
    with app.uow(write=False) as uow:
        s = uow.session
        found = s.execute(_views_query().where(Payout.id == payout_id)).first()
        if found is None:
            raise NotFound(f"Реестр перечислений № {payout_id} не найден")
        view = _view(*found)
        inn = s.scalar(select(Provider.inn).where(Provider.id == view.provider_id))
        lines = _lines(s, view.day, view.provider_id, FILE_LINES_LIMIT)
    payments = [x for x in lines if x.operation == PAYMENT_OP]
    refunds = [x for x in lines if x.operation == REFUND_OP]
    paid, refunded = sum(x.amount for x in payments), -sum(x.amount for x in refunds)
    if (paid, refunded, len(payments)) != (view.payments_total, view.refunds_total,
                                           view.payments_count):
        raise PayoutError(f"Реестр перечислений № {view.id}: платежи и возвраты за "
                          f"{format_date(view.day)} больше не сходятся с перечисленной суммой "
                          f"{Money(view.net_amount)}; файл не сформирован, проверьте журнал "
                          f"проводок")
    rows: list[tuple[Any, ...]] = [
        (str(x.payment_id), x.at, x.account_number, x.amount,
         x.commission if x.operation == PAYMENT_OP else None, x.rrn or "", x.operation_label)
        for x in lines]
    rows += [
        ("Итого платежей", None, f"{len(payments)} шт.", view.payments_total,
         view.commission_total, "", "комиссия агента не перечисляется"),
        ("Итого возвратов", None, f"{len(refunds)} шт.", -view.refunds_total, None, "", ""),
        ("К перечислению", None, f"{view.provider_name} (ИНН {inn})", view.net_amount, None, "",
         f"реестр № {view.id} за {format_date(view.day)}"),
    ]
    data = (exports.to_csv(FILE_COLUMNS, rows) if fmt == "csv"
            else exports.to_xlsx(FILE_COLUMNS, rows, sheet="Реестр перечислений"))
    with app.uow() as uow:
        audit.record(uow.session, at=app.now(), action="payout.export", actor=actor,
                     after={"payout_id": view.id, "rows": len(lines), "format": fmt})
        uow.commit()
    return data
