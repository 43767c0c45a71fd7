"""Payment flow end to end through the services vs raw sqlite3 committing the same rows
in the same number of small transactions."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from benchmarks.common import Figure, bench_app
from core.db.engine import make_engine
from core.db.migrate import upgrade


def run(work: Path, scale: str) -> list[Figure]:
    return [bench_payment_flow(work)]


PAYMENTS = 200


def bench_payment_flow(work: Path) -> Figure:
    from sqlalchemy import event, func, select

    from core.db.models import Base
    from core.services import payments
    from tests.payment_flow_factories import card, last_otp, new_key, payer

    url = f"sqlite:///{work / 'pay.db'}"
    upgrade(make_engine(url))
    from core.config import FAST_HASHING

    app = bench_app(url, work, FAST_HASHING)  # registration is not what is measured here
    payers = [payer(app) for _ in range(PAYMENTS)]

    def rows() -> int:
        with app.uow(write=False) as uow:
            return sum(uow.session.scalar(select(func.count()).select_from(t)) or 0
                       for t in Base.metadata.sorted_tables)

    commits = [0]
    event.listen(app.engine, "commit", lambda _conn: commits.__setitem__(0, commits[0] + 1))
    before = rows()
    start = time.perf_counter()
    for p in payers:
        view = payments.start_invoice_payment(app, p.token, p.invoice_id, new_key())
        view = payments.pay_with_new_card(app, view.id, card(), token=p.token)
        # Reading the code back from the outbox is the test harness's part: excluded.
        paused = time.perf_counter()
        code = last_otp(app, view.id)
        start += time.perf_counter() - paused
        payments.confirm_payment(app, view.id, code, token=p.token)
    ours = PAYMENTS / (time.perf_counter() - start)
    written, transactions = rows() - before, commits[0]
    app.engine.dispose()

    raw = sqlite3.connect(work / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c TEXT)")
    per_commit = max(written // max(transactions, 1), 1)
    start = time.perf_counter()
    for n in range(transactions):
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany("INSERT INTO t (a, b, c) VALUES (?, ?, ?)",
                        [(n, "x" * 40, "y" * 60)] * per_commit)
        raw.execute("COMMIT")
    base = PAYMENTS / (time.perf_counter() - start)
    raw.close()
    return Figure(f"payment flow ({transactions // PAYMENTS} commits, "
                  f"{written // PAYMENTS} rows each)", round(ours, 1), "payments/s",
                  "sqlite3: same rows, same commits", round(base, 1), round(ours / base, 3),
                  ">= 0.2")


