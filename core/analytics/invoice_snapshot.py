"""The invoices of each billed month per provider and outcome, as a snapshot.

Classifying invoices needs, for every paid one, a look at its payments (was the last
one after the due date?): at 3,600,000 invoices that is seconds of work, too slow for
a page view. The worker refreshes the recent months every few minutes and every month
once a day (``refresh_recent``, ``refresh_all``); «Аналитика» reads the few hundred
rows of ``invoice_month_stats``. «Overdue» depends on today, hence the daily refresh
of old months too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, delete, exists, func, literal, select
from sqlalchemy.orm import Session

from core.app import App
from core.db import leases
from core.db.models import Invoice, InvoiceMonthStat, Payment, ProviderAccount
from core.billing.invoice_rules import InvoiceStatus
from core.paging import moscow_day
from core.payments import machine
from core.timefmt import moscow_date

RECENT_MONTHS = 3  # invoices are paid within a month or two of their period


@dataclass(frozen=True)
class RefreshReport:
    since: date | None
    rows: int
    skipped: bool = False  # another process was refreshing the snapshot (PostgreSQL)

    def __str__(self) -> str:
        scope = f"с {self.since:%m.%Y}" if self.since else "за все месяцы"
        if self.skipped:
            return f"сводка счетов {scope} не обновлялась: её обновляет другой процесс"
        return f"сводка счетов {scope} обновлена: строк {self.rows}"


# One refresh at a time (recent or all months: they rewrite the same rows). Two at once
# on PostgreSQL: the second's DELETE misses the rows the first inserts, and its INSERT
# then fails on their primary key once the first commits. The second process skips.
_LOCK = "analytics.invoice_snapshot"


def refresh(session: Session, now: datetime, since: date | None = None) -> int:
    """Replace the snapshot of the months from ``since`` (all months without it);
    returns the rows written. The caller commits."""
    today = moscow_date(now)
    # Paid late: some successful payment for it was made after the due date (so the
    # last one was); one probe of ix_payments_invoice per paid invoice.
    late = exists(select(Payment.id).where(
        Payment.invoice_id == Invoice.id, Payment.status.in_(machine.values(machine.CHARGED)),
        moscow_day(session, Payment.finalized_at) > Invoice.due_date))
    klass = case(
        (Invoice.status == InvoiceStatus.PAID,
         case((late, literal("late")), else_=literal("on_time"))),
        (Invoice.due_date < today, literal("overdue")),
        else_=literal("open"))
    inner = (select(Invoice.period.label("period"), ProviderAccount.provider_id,
                    klass.label("klass"))
             .join(ProviderAccount, ProviderAccount.id == Invoice.provider_account_id))
    stale = delete(InvoiceMonthStat)
    if since is not None:
        inner = inner.where(Invoice.period >= since)
        stale = stale.where(InvoiceMonthStat.period >= since)
    grouped = inner.subquery()
    rows = session.execute(select(grouped.c.period, grouped.c.provider_id, grouped.c.klass,
                                  func.count())
                           .group_by(grouped.c.period, grouped.c.provider_id,
                                     grouped.c.klass)).all()
    session.execute(stale)
    if rows:
        session.execute(InvoiceMonthStat.__table__.insert(), [
            dict(period=period, provider_id=provider_id, klass=name, invoices=int(count),
                 refreshed_at=now) for period, provider_id, name, count in rows])
    return len(rows)


def recent_since(today: date) -> date:
    month = today.year * 12 + today.month - 1 - (RECENT_MONTHS - 1)
    return date(month // 12, month % 12 + 1, 1)


def refresh_recent(app: App) -> RefreshReport:
    """The worker's frequent job: the last few billed months."""
    now = app.now()
    since = recent_since(moscow_date(now))
    with app.uow() as uow:
        if not leases.try_transaction_lock(uow.session, _LOCK):
            return RefreshReport(since, 0, skipped=True)
        rows = refresh(uow.session, now, since)
        uow.commit()
    return RefreshReport(since, rows)


def refresh_all(app: App) -> RefreshReport:
    """The worker's daily job and the command after a bulk load: every month."""
    with app.uow() as uow:
        if not leases.try_transaction_lock(uow.session, _LOCK):
            return RefreshReport(None, 0, skipped=True)
        rows = refresh(uow.session, app.now())
        uow.commit()
    return RefreshReport(None, rows)
