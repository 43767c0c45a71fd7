"""Planner statistics: refreshed on demand (``db analyze``, the worker's daily job) and
what they change — the payout day's sums walk the day's slice, not every payment."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from core.app import App
from core.db.models import Payment
from core.db.statistics import refresh_statistics
from core.jobs import all_jobs
from core.finance.payouts import _payment_conditions
from tests.factories.billing import make_provider
from tests.factories.payments import make_payment


def _payments_over_days(app: App, days: int) -> None:
    provider = make_provider(app)
    start = app.now() - timedelta(days=days)
    for n in range(days * 4):
        make_payment(app, provider_id=provider, created_at=start + timedelta(hours=6 * n),
                     events=False)


def _sums_plan(app: App) -> str:
    statement = (select(Payment.provider_id, func.count(), func.sum(Payment.amount))
                 .where(*_payment_conditions(date(2026, 11, 1), None))
                 .group_by(Payment.provider_id))
    compiled = statement.compile(app.engine, compile_kwargs={"literal_binds": True})
    with app.engine.connect() as conn:
        return " ".join(str(row[-1]) for row in
                        conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


def test_statistics_send_the_payout_sums_through_the_day_index(app: App) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL's statistics are checked below")
    _payments_over_days(app, 60)
    # No statistics: any equality index wins (either of the two on the status).
    assert "USING INDEX ix_payments_status_" in _sums_plan(app)
    report = refresh_statistics(app.engine)
    assert "ix_payments_finalized" in _sums_plan(app)
    assert "статистика планировщика обновлена" in str(report)
    with app.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = 'payments'")).scalars().all()
    assert rows and all(stat.split()[0] == "240" for stat in rows)


def test_statistics_are_written_on_postgresql_too(app: App) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statistics table; SQLite's is checked above")
    _payments_over_days(app, 5)
    refresh_statistics(app.engine)
    with app.engine.connect() as conn:
        analysed = conn.execute(text(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'payments'")).scalar()
    assert analysed is not None


def test_the_worker_refreshes_statistics_daily() -> None:
    job = {j.name: j for j in all_jobs()}["db.statistics"]
    assert job.every == timedelta(days=1)

