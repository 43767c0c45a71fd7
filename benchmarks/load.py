"""The scale data set (``core.demo.scale.load``) as a benchmark and as the base of the others.

``build(work, scale)`` loads a fresh database — "small": 2,000 customers / 10,000
payments, "full": 200,000 / 1,000,000 — and returns its figures and URL; the caller
then runs page and search benchmarks on it. The figure: rows/s of the load (generation,
inserts, index rebuild) against raw ``sqlite3.executemany`` of the very same rows, read
back from the loaded file, into index-less tables of another file, timed in the same
run; then the index rebuild's share and the wall time including the analytics'
rollups and invoice snapshot, which the services recompute by GROUP BY afterwards.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from benchmarks.common import Figure, bench_app, figure
from core.config import HashingCost
from core.db.engine import make_engine
from core.db.migrate import upgrade
from core.db.models import Base
from core.demo.scale.load import TABLES, seed_scale

SCALES = {"small": (2_000, 10_000), "full": (200_000, 1_000_000)}
_CHEAP = HashingCost(argon2_time_cost=1, argon2_memory_cost_kib=1024, argon2_parallelism=1,
                     bcrypt_rounds=4)


def _fresh(work: Path, database_url: str | None) -> str:
    """A migrated, empty database: a new SQLite file, or the given PostgreSQL emptied."""
    if database_url is None:
        path = work / "scale.db"
        for old in work.glob("scale.db*"):
            old.unlink()
        url = f"sqlite:///{path}"
    else:
        url = database_url
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def raw_baseline(source: Path, work: Path) -> tuple[int, float]:
    """(rows, seconds): the loaded tables' rows inserted by plain sqlite3 executemany into
    bare tables (no types, keys or indexes) of a new file; only the inserts are timed."""
    target = work / "raw.db"
    for old in work.glob("raw.db*"):
        old.unlink()
    src = sqlite3.connect(source)
    raw = sqlite3.connect(target)
    raw.execute("PRAGMA journal_mode=WAL")
    rows, seconds = 0, 0.0
    for table in TABLES:
        columns = [c.name for c in Base.metadata.tables[table].columns]
        data = src.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        raw.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        start = time.perf_counter()
        raw.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})", data)
        raw.commit()
        seconds += time.perf_counter() - start
        rows += len(data)
        del data
    src.close()
    raw.close()
    for old in work.glob("raw.db*"):
        old.unlink()
    return rows, seconds


def raw_baseline_postgresql(database_url: str) -> tuple[int, float]:
    """(rows, seconds): the loaded tables' rows sent by plain psycopg ``COPY`` (the
    server's fastest way in) into bare text tables of a scratch schema; only the copies
    are timed."""
    import psycopg

    from sqlalchemy.engine import make_url

    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    rows, seconds = 0, 0.0
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP SCHEMA IF EXISTS raw_baseline CASCADE")
        conn.execute("CREATE SCHEMA raw_baseline")
        for table in TABLES:
            columns = [c.name for c in Base.metadata.tables[table].columns]
            names = ", ".join(columns)
            # As text: the bare tables are text, as a raw loader's input file would be.
            data = conn.execute(f"SELECT {', '.join(c + '::text' for c in columns)} "
                                f"FROM public.{table}").fetchall()
            conn.execute(f"CREATE UNLOGGED TABLE raw_baseline.{table} "
                         f"({', '.join(c + ' text' for c in columns)})")
            conn.commit()
            start = time.perf_counter()
            with conn.cursor() as cur, cur.copy(
                    f"COPY raw_baseline.{table} ({names}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
            conn.commit()
            seconds += time.perf_counter() - start
            rows += len(data)
            del data
        conn.execute("DROP SCHEMA raw_baseline CASCADE")
        conn.commit()
    return rows, seconds


def build(work: Path, scale: str, database_url: str | None = None) -> tuple[list[Figure], str]:
    customers, payments = SCALES[scale]
    url = _fresh(work, database_url)
    app = bench_app(url, work, _CHEAP)
    report = seed_scale(app, customers=customers, payments=payments, seed=1)
    assert report is not None
    app.engine.dispose()
    ours = report.total_rows / report.load_seconds
    label = f"{report.total_rows:,} rows".replace(",", " ")
    figures = []
    if database_url is None:
        rows, seconds = raw_baseline(Path(url.removeprefix("sqlite:///")), work)
        assert rows == report.total_rows, (rows, report.total_rows)
        figures.append(figure(f"scale load {scale} ({label})", ours, "rows/s",
                              "sqlite3 executemany of the same rows", rows / seconds,
                              ">= 0.5 of raw", digits=0))
    else:
        rows, seconds = raw_baseline_postgresql(url)
        assert rows == report.total_rows, (rows, report.total_rows)
        figures.append(figure(f"scale load {scale} on PostgreSQL ({label})", ours, "rows/s",
                              "psycopg COPY of the same rows into bare tables",
                              rows / seconds, ">= 0.5 of raw", digits=0))
    figures.append(figure(f"scale load {scale}: index rebuild", report.index_seconds, "s",
                          "the whole load (inserts + indexes)", report.load_seconds, "reported",
                          digits=1))
    figures.append(figure(f"scale build {scale}: wall time with rollups + invoice snapshot",
                          report.seconds, "s", "the load alone", report.load_seconds,
                          "reported", digits=1))
    return figures, url


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m benchmarks.load")
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for f in build(Path(tmp), args.scale, args.database_url)[0]:
            print(f)
