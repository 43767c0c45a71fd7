"""Two workers running the same payment job at once, on SQLite and on PostgreSQL.

Each job claims its due rows (SKIP LOCKED on PostgreSQL, its due column moved a lease
ahead) before it asks the gateway or the register outside any transaction, so two
workers never ask about the same row: every question reaches the bank (or the register)
once, and each worker's report counts only what it did. The remote calls are slowed down
here so that the two workers' runs overlap. Before the claims both workers read the same
due ids and asked about each of them (and a second register signed the same receipt).
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from core.actors import StaffRole
from core.db.models import LedgerJournal, PaymentEventRecord, Refund
from core.finance import ledger
from core.payments import binding_holds, flow, receipts, recovery, refunds, state
from core.payments.machine import PaymentStatus
from tests.factories.customers import make_staff
from tests.factories.payment_flow import (TIMEOUT_CHARGED_CARD, new_key, pay_invoice, payer,
                                          payment_row)
from tests.payments.test_binding_holds import left_held
from tests.payments.test_card_binding import customer
from tests.payments.test_concurrency import errors_of, run_together

__all__ = ["customer"]  # the fixture, shared with test_card_binding
SLOW = 0.03  # seconds per remote call: long enough for the two runs to overlap


def counted(target: object, name: str, key: Callable[..., Any],
            monkeypatch: pytest.MonkeyPatch) -> Counter[Any]:
    """Count the calls of ``target.name`` by ``key(*args)``, each slowed by ``SLOW``."""
    calls: Counter[Any] = Counter()
    lock = threading.Lock()
    real = getattr(target, name)

    def call(*args: Any, **kwargs: Any) -> Any:
        with lock:
            calls[key(*args)] += 1
        time.sleep(SLOW)
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, call)
    return calls


def two_workers(job: Callable[[], Any]) -> list[Any]:
    outcomes = run_together([job, job])
    errors = errors_of(outcomes)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    return outcomes


def payment_journals(app, payment_id: int) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(LedgerJournal).where(
            LedgerJournal.payment_id == payment_id,
            LedgerJournal.kind == ledger.KIND_PAYMENT)) or 0)


def test_two_workers_recovering_at_once_ask_the_bank_once_per_payment(app, clock,
                                                                      monkeypatch):
    pending = [pay_invoice(app, payer(app), TIMEOUT_CHARGED_CARD) for _ in range(8)]
    assert {v.status for v in pending} == {PaymentStatus.PENDING}
    clock.advance(minutes=5)
    asked = counted(app.gateway, "status", lambda txn: txn, monkeypatch)
    signed = counted(receipts.register(app), "register", lambda r: r.receipt_number,
                     monkeypatch)

    reports = two_workers(lambda: recovery.recover_due(app))

    assert sorted(asked.values()) == [1] * 8  # each payment's question once, not twice
    assert sorted(signed.values()) == [1] * 8  # each receipt signed once
    assert sum(r.checked for r in reports) == 8
    assert sum(r.outcomes.get("succeeded", 0) for r in reports) == 8
    for view in pending:
        assert payment_row(app, view.id).status == PaymentStatus.SUCCEEDED.value
        assert payment_journals(app, view.id) == 1
    assert recovery.recover_due(app).checked == 0


def test_two_workers_expiring_at_once_expire_each_payment_once(app, clock, monkeypatch):
    left = [flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
            for p in (payer(app) for _ in range(6))]
    clock.advance(minutes=16)
    counted(state, "apply", lambda session, payment, event: payment.id, monkeypatch)

    reports = two_workers(lambda: recovery.expire_stale(app))

    # Each payment is counted by the worker that expired it only (before: both counted
    # every payment, the second finding it expired already).
    assert sum(r.checked for r in reports) == 6
    assert sum(r.outcomes.get("expired", 0) for r in reports) == 6
    with app.uow(write=False) as uow:
        abandoned = Counter(uow.session.scalars(
            select(PaymentEventRecord.payment_id)
            .where(PaymentEventRecord.event == "abandoned")))
    assert abandoned == Counter({view.id: 1 for view in left})


def test_two_workers_fiscalising_at_once_sign_each_receipt_once(app, clock, monkeypatch):
    register = receipts.register(app)
    views = []
    for _ in range(6):
        register.make_next_call_unavailable()
        views.append(pay_invoice(app, payer(app)))
    clock.advance(minutes=1)
    signed = counted(register, "register", lambda r: r.receipt_number, monkeypatch)

    reports = two_workers(lambda: receipts.fiscalise_due(app))

    assert sorted(signed.values()) == [1] * 6
    assert sum(r.fiscalised for r in reports) == 6
    assert receipts.fiscalise_due(app).fiscalised == 0


def test_a_new_receipt_is_left_to_its_payment_for_a_while(app, clock, monkeypatch):
    """The payment's process registers its receipt right after the commit; a worker whose
    run falls in between must not take the receipt as due and have its own register
    sign it too."""
    signed = counted(receipts.register(app), "register", lambda r: r.receipt_number,
                     monkeypatch)
    inline = receipts.fiscalise_request
    worker_runs: list[receipts.FiscalReport] = []

    def worker_first(app_, request):  # type: ignore[no-untyped-def]
        worker_runs.append(receipts.fiscalise_due(app_))  # the worker's run, just now
        return inline(app_, request)

    monkeypatch.setattr(receipts, "fiscalise_request", worker_first)
    pay_invoice(app, payer(app))

    assert worker_runs == [receipts.FiscalReport(0, 0)]
    assert sorted(signed.values()) == [1]


def test_two_workers_retrying_refunds_at_once_send_each_refund_once(app, clock,
                                                                     monkeypatch):
    finance = make_staff(app, StaffRole.FINANCE)
    for _ in range(5):
        view = pay_invoice(app, payer(app))
        app.gateway.make_next_call_time_out(charged=True)  # refunded, the answer lost
        with pytest.raises(refunds.RefundPending):
            refunds.refund(app, finance, view.id, "100", "Просьба клиента")
    clock.advance(minutes=3)
    sent = counted(app.gateway, "refund", lambda request: request.idempotency_key,
                   monkeypatch)

    settled = two_workers(lambda: refunds.retry_requested(app))

    assert sorted(sent.values()) == [1] * 5
    assert sum(settled) == 5
    with app.uow(write=False) as uow:
        assert Counter(uow.session.scalars(select(Refund.status))) == {"succeeded": 5}
    assert refunds.retry_requested(app) == 0


CARDS = ("4111 1111 1111 1111", "5555 5555 5555 4444", "2200 0000 0000 0004")


def test_two_workers_releasing_holds_at_once_ask_the_bank_once_per_hold(app, customer, clock,
                                                                        monkeypatch):
    txns = [left_held(app, customer, monkeypatch, number)[2] for number in CARDS]
    clock.advance(minutes=10)
    asked = counted(app.gateway, "status", lambda txn: txn, monkeypatch)
    reversed_ = counted(app.gateway, "reverse", lambda txn: txn, monkeypatch)

    reports = two_workers(lambda: binding_holds.release_due(app))

    assert asked == Counter({txn: 1 for txn in txns})
    assert reversed_ == Counter({txn: 1 for txn in txns})
    assert sum(r.outcomes.get("released", 0) for r in reports) == 3
