"""Two outbox senders at once, on SQLite and PostgreSQL: the queue is claimed by batches
(SKIP LOCKED on PostgreSQL, each message's next_attempt_at a lease ahead), every message
reaches its channel once, and a sender whose lease ran out in a slow batch leaves the
rest of its batch to the worker that took it over.

(The outbox claimed each message on its own with SKIP LOCKED before this: it sent
nothing twice either, but every worker walked the same due ids one transaction each.)
"""
from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import func, select

from core.db.models import OutboxMessage
from core.notifications import outbox
from core.notifications.channels import Channel, MessageStatus
from core.notifications.senders import OutgoingMessage
from tests.payments.test_concurrency import errors_of, run_together


class CountingSender:
    """What the channel received, per message; each hand-over takes a little while."""

    def __init__(self, pause: float = 0.005) -> None:
        self.received: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._pause = pause

    def send(self, message: OutgoingMessage) -> None:
        time.sleep(self._pause)
        with self._lock:
            self.received[message.message_id] += 1


def _queue(app, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    with app.uow() as uow:
        messages = [outbox.enqueue(uow.session, now=app.now(), customer_id=None,
                                   channel=Channel.EMAIL, topic="invoice",
                                   recipient=f"payer{i}@example.ru", subject="Счёт",
                                   body=f"Счёт № {i}") for i in range(count)]
        uow.commit()
        return [m.id for m in messages]


def test_two_senders_at_once_send_every_message_once(app):
    ids = _queue(app, 120)
    sender = CountingSender()
    app.senders[Channel.EMAIL] = sender

    reports = run_together([lambda: outbox.send_pending(app)] * 2)

    assert not errors_of(reports), errors_of(reports)
    assert sender.received == Counter(dict.fromkeys(ids, 1))
    assert sum(r.sent for r in reports) == 120 and sum(r.skipped for r in reports) == 0
    with app.uow(write=False) as uow:
        assert dict(uow.session.execute(select(OutboxMessage.status, func.count())
                                        .group_by(OutboxMessage.status)).all()) == {
            MessageStatus.SENT: 120}
        assert set(uow.session.scalars(select(OutboxMessage.attempts))) == {1}


def test_a_batch_whose_lease_ran_out_leaves_the_rest_to_the_worker_that_took_it(
        app, clock, monkeypatch):
    ids = _queue(app, 3)
    sender = CountingSender(pause=0)
    app.senders[Channel.EMAIL] = sender
    other_reports: list[outbox.SendReport] = []
    stalled: list[int] = []
    settle = outbox._settle_success

    def slow_after_the_first(app_, message_id):  # type: ignore[no-untyped-def]
        outcome = settle(app_, message_id)
        if not stalled:
            stalled.append(message_id)
            # Our batch stalls past its lease; meanwhile another worker finds the
            # batch's other messages due again and sends them.
            clock.advance(seconds=outbox.SEND_LEASE.total_seconds() + 1)
            other_reports.append(outbox.send_pending(app_))
        return outcome

    monkeypatch.setattr(outbox, "_settle_success", slow_after_the_first)
    report = outbox.send_pending(app)

    assert sender.received == Counter(dict.fromkeys(ids, 1))
    assert other_reports[0].sent == 2
    assert (report.sent, report.skipped) == (1, 2)
