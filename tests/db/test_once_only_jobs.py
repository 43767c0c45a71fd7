"""Jobs that must not run twice at once (the invoice snapshot, ANALYZE, a day's
settlement) skip while another process runs them: a PostgreSQL advisory lock
(core.db.leases). On SQLite a second run waits for the write lock instead, so these
guards always let the job run there."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from core.analytics import invoice_snapshot
from core.app import App
from core.db import leases
from core.db.models import AcquirerSettlement, InvoiceMonthStat
from core.db.statistics import refresh_statistics
from core.finance import settlement
from core.timefmt import moscow_date
from tests.analytics.test_invoice_stats import _world
from tests.payments.test_concurrency import errors_of, run_together

SQLITE_SKIP = "SQLite serialises write transactions: a second run waits, it cannot overlap"


def _postgresql_only(app: App) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip(SQLITE_SKIP)


@contextmanager
def held_elsewhere(app: App, name: str) -> Iterator[None]:
    """Another process running job ``name``: its advisory lock, held on a connection
    of its own."""
    with app.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": leases.lock_key(name)})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                         {"key": leases.lock_key(name)})
            conn.commit()


def _stat_rows(app: App) -> int:
    with app.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(InvoiceMonthStat)) or 0)


def test_two_snapshot_refreshes_at_once_one_skips_and_the_snapshot_is_whole(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the second refresh's DELETE missed the first's new rows and its INSERT
    failed on their primary key (IntegrityError) once the first committed."""
    _postgresql_only(app)
    _world(app)
    real = invoice_snapshot.refresh

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        rows = real(*args, **kwargs)
        time.sleep(0.3)  # the first holds its rows while the second starts
        return rows

    monkeypatch.setattr(invoice_snapshot, "refresh", slow)
    outcomes = run_together([lambda: invoice_snapshot.refresh_all(app)] * 2)

    assert not errors_of(outcomes), errors_of(outcomes)
    assert sorted(r.skipped for r in outcomes) == [False, True]
    assert "обновляет другой процесс" in str(next(r for r in outcomes if r.skipped))
    assert _stat_rows(app) == 4


def test_a_refresh_skips_while_another_process_refreshes(app: App) -> None:
    _postgresql_only(app)
    _world(app)
    with held_elsewhere(app, "analytics.invoice_snapshot"):
        assert invoice_snapshot.refresh_recent(app).skipped
        assert invoice_snapshot.refresh_all(app).skipped
        assert _stat_rows(app) == 0
    assert invoice_snapshot.refresh_all(app).rows == 4


def test_analyze_skips_while_another_process_analyses(app: App) -> None:
    _postgresql_only(app)
    with held_elsewhere(app, "db.statistics"):
        report = refresh_statistics(app.engine)
    assert report.skipped and "другой процесс" in str(report)
    assert not refresh_statistics(app.engine).skipped


def test_a_day_being_settled_by_another_process_is_not_fetched_again(
        app: App, clock, monkeypatch: pytest.MonkeyPatch) -> None:
    _postgresql_only(app)
    fetched: list[object] = []
    real = app.gateway.settlement_registry
    monkeypatch.setattr(app.gateway, "settlement_registry",
                        lambda day: fetched.append(day) or real(day))
    yesterday = moscow_date(app.now() - timedelta(days=1))
    with held_elsewhere(app, f"ledger.settle:{yesterday.isoformat()}"):
        assert settlement.settle_yesterday(app) is None
        with pytest.raises(settlement.SettlementInProgress, match="проводится"):
            settlement.settle_day(app, yesterday)
    assert fetched == []
    assert settlement.settle_yesterday(app) is not None
    assert fetched == [yesterday]


def test_two_settlements_of_a_day_at_once_fetch_and_book_it_once(
        app: App, clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite the second waits for the first and finds the day booked; on PostgreSQL
    it skips (before: it fetched the registry too and failed on the unique day)."""
    fetched: list[object] = []
    lock = threading.Lock()
    real = app.gateway.settlement_registry

    def slow(day):  # type: ignore[no-untyped-def]
        with lock:
            fetched.append(day)
        time.sleep(0.2)
        return real(day)

    monkeypatch.setattr(app.gateway, "settlement_registry", slow)
    outcomes = run_together([lambda: settlement.settle_yesterday(app)] * 2)
    assert not errors_of(outcomes), errors_of(outcomes)
    assert sum(o is not None for o in outcomes) == 1
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(AcquirerSettlement)) == 1
    if app.engine.dialect.name == "postgresql":
        assert len(fetched) == 1
