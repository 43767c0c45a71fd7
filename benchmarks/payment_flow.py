"""Payment flow end to end through the services vs raw sqlite3 committing the same rows
in the same number of small transactions.

The baseline only inserts; the flow also reads (sessions, locks, the idempotency key)
and updates (payment, invoice, password, receipt). The second figure, the time the flow
spends inside sqlite3 alone, is therefore its floor: the ratio no code above the driver
can beat (about 0.06 on the development machine)."""
from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path

from benchmarks.common import Figure, bench_app
from core.db.engine import make_engine
from core.db.migrate import upgrade


def run(work: Path, scale: str) -> list[Figure]:
    return bench_payment_flow(work)


PAYMENTS = 200
# The raw side takes a few milliseconds, so one pass is at the mercy of the shared
# machine's noise: its median over several fresh files is what is compared.
RAW_PASSES = 5


def bench_payment_flow(work: Path) -> list[Figure]:
    """The flow's figure, and its floor: the same payments counting only the time spent
    inside sqlite3 (the flow's own statements and commits, without SQLAlchemy or any of
    our Python) — what no rewrite above the driver can beat."""
    from sqlalchemy import Connection, event, func, select

    from core.db.models import Base
    from core.payments import flow
    from tests.factories.payment_flow import card, last_otp, new_key, payer

    url = f"sqlite:///{work / 'pay.db'}"
    upgrade(make_engine(url))
    from core.config import FAST_HASHING

    app = bench_app(url, work, FAST_HASHING)  # registration is not what is measured here
    payers = [payer(app) for _ in range(PAYMENTS)]

    def rows() -> int:
        with app.uow(write=False) as uow:
            return sum(uow.session.scalar(select(func.count()).select_from(t)) or 0
                       for t in Base.metadata.sorted_tables)

    counting = [False]
    commits, statements = [0], [0]
    in_sqlite, started = [0.0], [0.0]

    def on_commit(conn: Connection) -> None:
        commits[0] += counting[0]
        # Committed here, timed: SQLAlchemy's own commit that follows finds no open
        # transaction (sqlite3 then does nothing), so the work is done once.
        begun = time.perf_counter()
        conn.connection.dbapi_connection.commit()  # type: ignore[union-attr]
        in_sqlite[0] += (time.perf_counter() - begun) * counting[0]

    def on_statement(*_args: object) -> None:
        statements[0] += counting[0]
        started[0] = time.perf_counter()

    def after_statement(*_args: object) -> None:
        in_sqlite[0] += (time.perf_counter() - started[0]) * counting[0]

    event.listen(app.engine, "commit", on_commit)
    event.listen(app.engine, "before_cursor_execute", on_statement)
    event.listen(app.engine, "after_cursor_execute", after_statement)
    before = rows()
    start = time.perf_counter()
    for p in payers:
        counting[0] = True
        view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
        view = flow.pay_with_new_card(app, view.id, card(), token=p.token)
        # Reading the code back from the outbox is the test harness's part: excluded.
        counting[0] = False
        paused = time.perf_counter()
        code = last_otp(app, view.id)
        start += time.perf_counter() - paused
        counting[0] = True
        flow.confirm_payment(app, view.id, code, token=p.token)
    ours = PAYMENTS / (time.perf_counter() - start)
    counting[0] = False
    written, transactions = rows() - before, commits[0]
    app.engine.dispose()

    base = statistics.median(_raw_rate(work / f"raw{n}.db", written, transactions)
                             for n in range(RAW_PASSES))
    floor = PAYMENTS / in_sqlite[0]
    return [Figure(f"payment flow ({transactions / PAYMENTS:g} commits, "
                   f"{written / PAYMENTS:g} rows, {statements[0] / PAYMENTS:g} SQL statements "
                   f"each)", round(ours, 1), "payments/s",
                   "sqlite3: same rows, same commits", round(base, 1), round(ours / base, 3),
                   ">= 0.2"),
            Figure("payment flow, time inside sqlite3 only (floor)", round(floor, 1),
                   "payments/s", "sqlite3: same rows, same commits", round(base, 1),
                   round(floor / base, 3), "the best any code above the driver can do")]


def _raw_rate(path: Path, written: int, transactions: int) -> float:
    """Payments/s of plain sqlite3 writing ``written`` rows in ``transactions`` commits,
    with the flow's pragmas (core.db.engine: WAL, synchronous=NORMAL, BEGIN IMMEDIATE)."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c TEXT)")
    # Every row the flow wrote, spread over its commits (the first ones take one more
    # when they do not divide): nothing rounded away.
    share, extra = divmod(written, max(transactions, 1))
    batches = [[(n, "x" * 40, "y" * 60)] * (share + (n < extra)) for n in range(transactions)]
    start = time.perf_counter()
    for batch in batches:
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", batch)
        raw.execute("COMMIT")
    elapsed = time.perf_counter() - start
    raw.close()
    return PAYMENTS / elapsed
