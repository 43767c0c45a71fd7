"""Booking the acquirer's settlement: each Moscow day's registry, once.

The acquirer pays us a day's charges net of that day's refunds; the ledger's
settlement journal moves that from ``clearing`` to ``bank`` (or back, on a day
whose refunds exceed its charges). Reconciling the registry line by line with our
payments is finance's separate task (the «Сверка» page).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.app import App
from core.db import leases
from core.db.models import AcquirerSettlement
from core.errors import DomainError
from core.money import Money
from core.payments import gateway as g, state
from core.finance import ledger
from core.timefmt import format_date, moscow_date


class AlreadySettled(DomainError):
    code = "already_settled"

    def __init__(self, day: date) -> None:
        super().__init__(f"Расчёт с эквайером за {format_date(day)} уже проведён")


class SettlementInProgress(DomainError):
    code = "settlement_in_progress"

    def __init__(self, day: date) -> None:
        super().__init__(f"Расчёт с эквайером за {format_date(day)} уже проводится "
                         "другим процессом")


@dataclass(frozen=True)
class SettlementResult:
    day: date
    lines: int
    payments_total: Money
    refunds_total: Money
    journal_id: int | None  # None for a day without movements

    @property
    def net(self) -> Money:
        return self.payments_total - self.refunds_total


def settle_day(app: App, day: date) -> SettlementResult:
    """Fetch the day's registry from the acquirer and book it (refused if booked).

    One process at a time per day (a PostgreSQL advisory lock held across the fetch and
    the booking): a second worker skips instead of fetching the registry again; the
    unique day of ``acquirer_settlements`` still refuses a second booking."""
    with leases.exclusive(app.engine, f"ledger.settle:{day.isoformat()}") as mine:
        if not mine:
            raise SettlementInProgress(day)
        return _settle_day(app, day)


def _settle_day(app: App, day: date) -> SettlementResult:
    with app.uow(write=False) as uow:
        if uow.session.scalar(select(AcquirerSettlement.id)
                              .where(AcquirerSettlement.day == day)) is not None:
            raise AlreadySettled(day)
    try:
        lines = app.acquirer().settlement_registry(day)
    except (g.GatewayTimeout, g.GatewayUnavailable):
        raise state.GatewayDown() from None
    paid = sum(x.amount_kopecks for x in lines if x.operation is g.Operation.PAYMENT)
    refunded = sum(x.amount_kopecks for x in lines if x.operation is g.Operation.REFUND)
    now = app.now()
    memo = f"Реестр эквайера за {format_date(day)}: {len(lines)} операций"
    try:
        with app.uow() as uow:
            s = uow.session
            journal_id = None
            if paid > refunded:
                journal_id = ledger.post_settlement(s, amount=paid - refunded, at=now, memo=memo)
            elif refunded > paid:
                journal_id = ledger.post_acquirer_debit(s, amount=refunded - paid, at=now,
                                                        memo=memo)
            s.add(AcquirerSettlement(day=day, payments_total=paid, refunds_total=refunded,
                                     lines=len(lines), journal_id=journal_id, created_at=now))
            s.flush()
            uow.commit()
    except IntegrityError:  # booked by a parallel run a moment ago
        raise AlreadySettled(day) from None
    return SettlementResult(day, len(lines), Money(paid), Money(refunded), journal_id)


def settle_yesterday(app: App) -> SettlementResult | None:
    """The worker's daily job: yesterday (Moscow) once it is over; None if booked (or
    being booked by another worker)."""
    day = moscow_date(app.now()) - timedelta(days=1)
    try:
        return settle_day(app, day)
    except (AlreadySettled, SettlementInProgress):
        return None
