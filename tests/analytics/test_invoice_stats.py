"""The invoice snapshot behind «Оплата счетов в срок»: what a refresh writes, which
months each job touches, and that the calendar alone turns an open invoice overdue."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import select, update

from core.app import App
from core.clock import FrozenClock
from core.db.models import Invoice, InvoiceMonthStat
from core.billing.invoice_rules import InvoiceStatus
from core.actors import StaffRole
from core.analytics import metrics, invoice_snapshot
from core.timefmt import moscow_date
from tests.factories.customers import make_staff
from tests.factories.billing import add_accounts, make_invoice, make_provider


def _snapshot(app: App) -> dict[tuple[date, int, str], int]:
    with app.uow(write=False) as uow:
        return {(r.period, r.provider_id, r.klass): r.invoices
                for r in uow.session.scalars(select(InvoiceMonthStat))}


def _world(app: App) -> dict[str, int]:
    today = moscow_date(app.now())
    water, gas = make_provider(app), make_provider(app)
    accounts = add_accounts(app, water, ["1000000001", "1000000002"])
    gas_accounts = add_accounts(app, gas, ["2000000001"])
    this_month = today.replace(day=1)
    old = date(this_month.year - 1, this_month.month, 1)  # a year ago: not «recent»
    ids = {
        "old_unpaid": make_invoice(app, accounts["1000000001"], old,
                                   due_date=old + timedelta(days=40)),
        "old_paid": make_invoice(app, accounts["1000000002"], old, status=InvoiceStatus.PAID,
                                 paid_amount=150_000, due_date=old + timedelta(days=40)),
        "due_tomorrow": make_invoice(app, accounts["1000000001"], this_month,
                                     due_date=today + timedelta(days=1)),
        "gas_invoice": make_invoice(app, gas_accounts["2000000001"], this_month,
                            due_date=today + timedelta(days=1)),
    }
    return {"water": water, "gas": gas, "old": old.toordinal(),
            "this_month": this_month.toordinal(), **ids}


def test_refresh_all_classifies_every_month_per_provider(app: App) -> None:
    w = _world(app)
    old, this_month = date.fromordinal(w["old"]), date.fromordinal(w["this_month"])
    report = invoice_snapshot.refresh_all(app)
    assert report.rows == 4 and report.since is None
    assert _snapshot(app) == {(old, w["water"], "overdue"): 1, (old, w["water"], "on_time"): 1,
                              (this_month, w["water"], "open"): 1,
                              (this_month, w["gas"], "open"): 1}
    assert invoice_snapshot.refresh_all(app).rows == 4  # replaced, not added to
    assert sum(_snapshot(app).values()) == 4
    # The analytics read it, per provider too.
    manager = make_staff(app, StaffRole.MANAGER)
    flt = metrics.AnalyticsFilter(old, moscow_date(app.now()))
    months = {m.period: m for m in metrics.invoices_on_time(app, manager, flt)}
    assert (months[old].on_time, months[old].overdue, months[this_month].open) == (1, 1, 2)
    only_gas = metrics.invoices_on_time(app, manager, replace(flt, provider_ids=(w["gas"],)))
    assert [(m.period, m.open, m.total) for m in only_gas] == [(this_month, 1, 1)]


def test_the_frequent_job_leaves_old_months_to_the_daily_one(app: App) -> None:
    w = _world(app)
    old = date.fromordinal(w["old"])
    invoice_snapshot.refresh_all(app)
    with app.uow() as uow:  # the old unpaid invoice gets paid (late) meanwhile
        uow.session.execute(update(Invoice).where(Invoice.id == w["old_unpaid"])
                            .values(status=InvoiceStatus.PAID, paid_amount=150_000))
        uow.commit()
    recent = invoice_snapshot.refresh_recent(app)
    assert recent.since == invoice_snapshot.recent_since(moscow_date(app.now()))
    assert recent.rows == 2 and "сводка счетов с" in str(recent)
    assert _snapshot(app)[(old, w["water"], "overdue")] == 1  # untouched until the daily job
    invoice_snapshot.refresh_all(app)
    snapshot = _snapshot(app)
    assert (old, w["water"], "overdue") not in snapshot
    assert snapshot[(old, w["water"], "on_time")] == 2  # paid without payments: «on time»


def test_an_open_invoice_turns_overdue_by_the_calendar(app: App, clock: FrozenClock) -> None:
    w = _world(app)
    this_month = date.fromordinal(w["this_month"])
    invoice_snapshot.refresh_recent(app)
    assert _snapshot(app)[(this_month, w["water"], "open")] == 1
    clock.advance(days=2)
    invoice_snapshot.refresh_recent(app)
    snapshot = _snapshot(app)
    assert snapshot.get((this_month, w["water"], "overdue")) == 1
    assert (this_month, w["water"], "open") not in snapshot


def test_recent_months_start_two_months_back() -> None:
    assert invoice_snapshot.recent_since(date(2026, 11, 25)) == date(2026, 9, 1)
    assert invoice_snapshot.recent_since(date(2026, 2, 3)) == date(2025, 12, 1)
    assert invoice_snapshot.recent_since(date(2026, 1, 31)) == date(2025, 11, 1)
