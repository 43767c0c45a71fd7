"""Planner statistics: ``ANALYZE`` after bulk loads and once a day.

Without statistics SQLite's planner prefers any equality index over a range one: the
payout page's «payments that succeeded on day D» then walked the status index (every
succeeded payment, ~0.6 s at 600,000) instead of the day's slice of ``finalized_at``
(~30 ms). PostgreSQL's autovacuum analyses by itself, but not right after a bulk load.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine

from core.app import App
from core.db import leases


@dataclass(frozen=True)
class StatisticsReport:
    seconds: float
    skipped: bool = False  # another process was analysing (PostgreSQL)

    def __str__(self) -> str:
        if self.skipped:
            return "статистика планировщика не обновлялась: её обновляет другой процесс"
        return f"статистика планировщика обновлена за {self.seconds:.1f} с"


def refresh_statistics(engine: Engine) -> StatisticsReport:
    """ANALYZE, once at a time: two workers' daily jobs at once would analyse every table
    twice (and concurrent ANALYZEs of a table can fail on pg_statistic's row); the
    second process skips."""
    with leases.exclusive(engine, "db.statistics") as mine:
        if not mine:
            return StatisticsReport(0.0, skipped=True)
        return _analyze(engine)


def _analyze(engine: Engine) -> StatisticsReport:
    start = time.perf_counter()
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # ANALYZE may not run inside a transaction block on every version.
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return StatisticsReport(time.perf_counter() - start)


def refresh_app_statistics(app: App) -> StatisticsReport:
    """The worker's daily job."""
    return refresh_statistics(app.engine)
