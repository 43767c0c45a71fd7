"""A demo that lives today (issue 14, point 6): built on a day, its history ends the day
before (nothing dated ahead of the clock), its newest invoices are last month's, the
pages' default periods find its rows, and the simulated bank's registry carries its
refunds, so reconciling that registry finds nothing missing on either side."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.actors import StaffRole
from core.analytics import metrics
from core.app import build_app
from core.config import Settings
from core.db.models import (AuditEntry, CabinetBlock, Customer, Invoice, LedgerJournal, Payment,
                            PaymentEventRecord, Receipt, Refund, SavedCard)
from core.demo.bank import seed_bank
from core.demo.rich import seed_demo
from core.finance import matching, payouts, reconciliation as rec
from core.finance.bank_registry import registry_for_period, write_registry_csv
from core.payments import gateway as g
from core.timefmt import moscow_date, moscow_day_start
from tests.conftest import TEST_SECRETS
from tests.factories.customers import make_staff

BUILT = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)  # 13:00 Moscow
TODAY = date(2026, 12, 3)
TODAY_START = moscow_day_start(TODAY)
YESTERDAY_START = moscow_day_start(TODAY - timedelta(days=1))


@pytest.fixture
def built_today(app, clock):  # type: ignore[no-untyped-def]
    clock.advance(seconds=(BUILT - clock.now()).total_seconds())
    seed_demo(app, customers=120, seed=5)
    return app


def _latest(app, *columns):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return {f"{c.class_.__name__}.{c.key}": uow.session.scalar(select(func.max(c)))
                for c in columns}


def test_the_history_ends_yesterday_and_nothing_is_ahead_of_the_clock(built_today):
    with built_today.uow(write=False) as uow:
        s = uow.session
        newest = s.scalar(select(func.max(Payment.created_at)))
        succeeded_yesterday = s.scalar(select(func.count()).select_from(Payment).where(
            Payment.created_at >= YESTERDAY_START, Payment.status == "succeeded"))
        later_audit = s.scalar(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.at > BUILT))
    assert YESTERDAY_START <= newest < TODAY_START
    assert succeeded_yesterday >= 2
    assert later_audit == 0
    latest = _latest(built_today, Payment.created_at, Payment.updated_at, Payment.finalized_at,
                     PaymentEventRecord.at, Refund.created_at, Refund.completed_at,
                     LedgerJournal.at, SavedCard.created_at, Customer.registered_at,
                     Customer.activated_at, CabinetBlock.blocked_at, AuditEntry.at,
                     Receipt.created_at)
    ahead = {name: at for name, at in latest.items() if at is not None and at > BUILT}
    assert not ahead
    history = {name: at for name, at in latest.items()
               if at is not None and not name.startswith("AuditEntry")}
    assert max(history.values()) < TODAY_START + timedelta(minutes=5), history


@pytest.mark.parametrize(("built", "newest_period", "due"), [
    (BUILT, date(2026, 11, 1), date(2026, 12, 25)),
    (datetime(2027, 1, 14, 22, 0, tzinfo=timezone.utc), date(2026, 12, 1), date(2027, 1, 25)),
])
def test_the_newest_invoices_are_last_months(app, clock, built, newest_period, due):
    clock.advance(seconds=(built - clock.now()).total_seconds())
    seed_demo(app, customers=60, seed=5)
    with app.uow(write=False) as uow:
        s = uow.session
        periods = sorted(set(s.scalars(select(Invoice.period))))
        newest = s.execute(select(Invoice.due_date, Invoice.status)
                           .where(Invoice.period == periods[-1])).all()
    assert periods[-1] == newest_period and len(periods) == 12
    assert {d for d, _ in newest} == {due}
    statuses = {status.value for _, status in newest}
    assert "unpaid" in statuses and "paid" not in statuses  # not due yet


def test_after_the_due_day_most_of_the_newest_invoices_are_paid(app, clock):
    clock.advance(seconds=(datetime(2026, 12, 28, 9, 0, tzinfo=timezone.utc)
                           - clock.now()).total_seconds())
    seed_demo(app, customers=80, seed=5)
    with app.uow(write=False) as uow:
        statuses = [status.value for status in uow.session.scalars(
            select(Invoice.status).where(Invoice.period == date(2026, 11, 1)))]
    assert statuses.count("paid") > len(statuses) / 2 and "unpaid" in statuses


def test_the_pages_default_periods_show_the_demo(built_today):
    finance = make_staff(built_today, StaffRole.FINANCE)
    # «Реестры перечислений» opens on yesterday.
    previews = payouts.preview(built_today, finance, TODAY - timedelta(days=1))
    assert previews and sum(p.payments_count for p in previews) >= 2
    # «Аналитика» opens on the 30 days up to today.
    kpis = metrics.kpis(built_today, finance,
                        metrics.AnalyticsFilter(TODAY - timedelta(days=29), TODAY))
    assert kpis.current.payments > 0 and kpis.previous.payments > 0


def _outcome(run: rec.RunView) -> dict[str, tuple[int, int]]:
    return {c.klass: (c.bank_count, c.our_count) for c in run.classes}


def _reconcile_days(app, days: list[date]) -> list[dict[str, tuple[int, int]]]:  # type: ignore[no-untyped-def]
    finance = make_staff(app, StaffRole.FINANCE)
    outcomes = []
    for day in days:
        data = write_registry_csv(registry_for_period(app, day, day))
        outcomes.append(_outcome(rec.reconcile(app, finance, f"bank-{day}.csv", data)))
    return outcomes


@pytest.fixture(params=["memory", "file"])
def bank_app(request, app, clock, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The demo built today with its bank in memory (tests) or in a file (``make run``)."""
    clock.advance(seconds=(BUILT - clock.now()).total_seconds())
    application = app
    if request.param == "file":
        settings = Settings(database_url=app.settings.database_url,
                            secrets_file=tmp_path / "s.toml", notify_log_dir=tmp_path,
                            hashing=app.settings.hashing, gateway_state_file=tmp_path / "bank.db")
        application = build_app(settings, clock=clock, secrets=TEST_SECRETS,
                                senders=app.senders, engine=app.engine)
    seed_demo(application, customers=80, seed=3)
    seed_bank(application)
    return application


def test_the_banks_registry_carries_the_demos_refunds(bank_app):
    with bank_app.uow(write=False) as uow:
        refunds = uow.session.execute(select(Refund.amount, Refund.completed_at)).all()
    assert refunds
    days = sorted({moscow_date(at) for _, at in refunds} | {TODAY - timedelta(days=1)})
    lines = [line for day in days for line in bank_app.acquirer().settlement_registry(day)]
    refund_lines = sorted((line.amount_kopecks, line.time) for line in lines
                          if line.operation is g.Operation.REFUND)
    assert refund_lines == sorted((amount, at) for amount, at in refunds)
    assert seed_bank(bank_app) == 0  # loaded again: no line twice
    again = [line for day in days for line in bank_app.acquirer().settlement_registry(day)]
    assert len(again) == len(lines)

    for outcome in _reconcile_days(bank_app, days):
        assert outcome["missing_at_bank"] == (0, 0), outcome
        assert outcome["missing_at_ours"] == (0, 0), outcome
        assert outcome["amount_differs"] == outcome["duplicate_at_bank"] == (0, 0), outcome
        assert outcome["matched"][0] > 0


def test_the_whole_history_reconciles_with_the_bank(bank_app):
    """Every day of the year at once: only the payments whose answer was lost differ."""
    with bank_app.uow(write=False) as uow:
        first = uow.session.scalar(select(func.min(Payment.created_at)))
        lost = uow.session.scalar(select(func.count()).select_from(Payment).where(
            Payment.status == "pending", Payment.gateway_txn_id.is_not(None),
            Payment.id % 2 == 0))
    finance = make_staff(bank_app, StaffRole.FINANCE)
    data = write_registry_csv(registry_for_period(bank_app, moscow_date(first),
                                                  TODAY - timedelta(days=1)))
    outcome = _outcome(rec.reconcile(bank_app, finance, "bank-year.csv", data))
    assert {k: v for k, v in outcome.items() if k != "matched" and v != (0, 0)} == (
        {"status_differs": (lost, lost)} if lost else {})
    assert outcome["matched"][0] > 1000
    assert set(matching.CLASSES) == set(outcome)
