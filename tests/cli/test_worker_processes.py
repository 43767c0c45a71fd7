"""Three worker processes against one PostgreSQL at once (the design's «workers may run
side by side»): they drain a queue of messages and recover payments whose gateway answer
was lost, and nothing is sent, asked, signed, settled or booked twice.

Each process runs the worker's real jobs (``outbox``, ``payments.recover``) in a loop
until nothing is due (``benchmarks.workers.drain``): the log-file senders, a bank stub
that says «charged» and writes down every question, and a fiscal register of its own
per process that writes down every receipt it signs. The issue's sizes (10,000
messages, 1,000 payments) take minutes on the shared 2-core machine, so the test runs
a fifth of them by default (WORKER_TEST_MESSAGES / WORKER_TEST_PAYMENTS raise it);
``python -m benchmarks --only workers --scale full`` runs the full sizes.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks import workers
from core.db.engine import make_engine
from core.db.models import LedgerJournal, OutboxMessage, Payment, PaymentEventRecord, Receipt
from core.finance import ledger
from tests.conftest import PG_SKIP_REASON, PG_URL

MESSAGES = int(os.environ.get("WORKER_TEST_MESSAGES", "2000"))
PAYMENTS = int(os.environ.get("WORKER_TEST_PAYMENTS", "200"))


@pytest.fixture
def pg_url() -> str:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    return PG_URL


def test_three_workers_send_each_message_once_and_settle_each_payment_once(
        pg_url: str, tmp_path: Path) -> None:
    with workers.own_database(pg_url, "workers") as url:
        workers.seed(url, tmp_path / "seed", MESSAGES, PAYMENTS)

        got = workers.drain(url, tmp_path / "run", 3, ("outbox", "payments.recover"))

        engine = make_engine(url)
        with engine.connect() as conn:
            outbox = conn.execute(select(OutboxMessage.id, OutboxMessage.status,
                                         OutboxMessage.attempts)).all()
            payments = dict(conn.execute(select(Payment.gateway_txn_id, Payment.status)).all())
            journals = Counter(conn.scalars(select(LedgerJournal.payment_id).where(
                LedgerJournal.kind == ledger.KIND_PAYMENT)))
            successes = Counter(conn.scalars(select(PaymentEventRecord.payment_id).where(
                PaymentEventRecord.event == "status_succeeded")))
            receipts = conn.scalar(select(func.count()).select_from(Receipt).where(
                Receipt.fiscal_document_number.is_not(None)))
        with engine.connect() as conn:
            from sqlalchemy.orm import Session

            balanced = ledger.check(Session(bind=conn)).ok
        engine.dispose()

    # Every process took part, and what it took adds up to the work, once.
    assert all(sum(c.values()) > 0 for c in got.counts), got.counts
    # Messages: the queue plus each recovered payment's «result» message, each written
    # by a sender once and settled as sent after one attempt.
    assert len(outbox) >= MESSAGES + PAYMENTS
    assert got.sent == Counter({message_id: 1 for message_id, _, _ in outbox})
    assert {(status.value, attempts) for _, status, attempts in outbox} == {("sent", 1)}
    # Payments: each asked about once, settled as paid once, booked once, signed once.
    assert got.asked == Counter(dict.fromkeys(payments, 1))
    assert set(payments.values()) == {"succeeded"}
    assert set(journals.values()) == {1} and len(journals) == PAYMENTS
    assert set(successes.values()) == {1} and len(successes) == PAYMENTS
    assert receipts == PAYMENTS and set(got.signed.values()) == {1}
    assert len(got.signed) == PAYMENTS
    assert balanced
