"""Payments racing each other on real threads, on SQLite and on PostgreSQL.

Every test releases its threads together through a Barrier, collects each thread's
result or exception (never lets a thread die silently), joins with a timeout and
then asserts on the outcomes and on what the database and the bank (the gateway
simulator) hold afterwards.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from core.timefmt import moscow_date
from core.db.models import Invoice, LedgerJournal, Payment, Receipt, Refund
from core.actors import StaffRole
from core.errors import DomainError, ValidationError
from core.payments import flow, gateway as g, refunds, state
from core.finance import ledger
from core.payments.machine import PaymentStatus
from core.payments.refund_machine import RefundStatus
from tests.factories.customers import make_staff
from tests.factories.payment_flow import card, last_otp, new_key, pay_invoice, payer

JOIN_TIMEOUT = 60


def run_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run each job on its own thread, all released at once by a barrier; returns each
    job's result, or the exception it raised (in the jobs' order)."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[Any] = [None] * len(jobs)
    done = [False] * len(jobs)

    def run(i: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=20)
            outcomes[i] = job()
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            outcomes[i] = error
        finally:
            done[i] = True

    threads = [threading.Thread(target=run, args=(i, job), daemon=True)
               for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    assert all(done)
    return outcomes


def errors_of(outcomes: list[Any]) -> list[BaseException]:
    return [o for o in outcomes if isinstance(o, BaseException)]


def payment_journals(app, payment_id: int | None = None) -> int:
    with app.uow(write=False) as uow:
        query = select(func.count()).select_from(LedgerJournal).where(
            LedgerJournal.kind == ledger.KIND_PAYMENT)
        if payment_id is not None:
            query = query.where(LedgerJournal.payment_id == payment_id)
        return int(uow.session.scalar(query) or 0)


def ledger_ok(app) -> None:
    with app.uow(write=False) as uow:
        result = ledger.check(uow.session)
    assert result.ok, result.problems


def charges_at_bank(app, txn_id: str) -> list[g.SettlementLine]:
    day = moscow_date(app.now())
    return [line for line in app.gateway.settlement_registry(day)
            if line.gateway_txn_id == txn_id and line.operation is g.Operation.PAYMENT]


def get(app, model, row_id):
    with app.uow(write=False) as uow:
        row = uow.session.get(model, row_id)
        assert row is not None
        uow.session.expunge(row)
        return row


def slow_bank_confirm(app, monkeypatch, seconds: float = 0.3) -> None:
    """A bank that takes a while to charge: the racing confirmation arrives meanwhile."""
    original = app.gateway.confirm

    def slow(request):
        time.sleep(seconds)
        return original(request)

    monkeypatch.setattr(app.gateway, "confirm", slow)


# --- 20 payers at once ----------------------------------------------------------

def test_twenty_payers_paying_at_once_all_succeed(app):
    payers = [payer(app) for _ in range(20)]

    outcomes = run_together([lambda p=p: pay_invoice(app, p) for p in payers])

    errors = errors_of(outcomes)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    assert not any(isinstance(e, OperationalError) for e in errors)
    assert all(v.status is PaymentStatus.SUCCEEDED for v in outcomes)
    assert len({v.id for v in outcomes}) == 20
    assert payment_journals(app) == 20
    for p in payers:
        invoice = get(app, Invoice, p.invoice_id)
        assert invoice.paid_amount == invoice.total_due
    # Each charge reached the bank once, on its own transaction.
    with app.uow(write=False) as uow:
        txns = list(uow.session.scalars(select(Payment.gateway_txn_id)))
    assert len(set(txns)) == 20
    for txn in txns:
        assert len(charges_at_bank(app, txn)) == 1
    ledger_ok(app)


# --- one payment confirmed twice at once -----------------------------------------

@pytest.mark.parametrize("bank", ["fast", "slow"])
def test_same_payment_confirmed_twice_at_once_charges_once(app, monkeypatch, bank):
    p = payer(app)
    view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    view = flow.pay_with_new_card(app, view.id, card(), token=p.token)
    assert view.awaiting_otp
    code = last_otp(app, view.id)
    if bank == "slow":
        slow_bank_confirm(app, monkeypatch)

    outcomes = run_together([
        lambda: flow.confirm_payment(app, view.id, code, token=p.token)
        for _ in range(2)])

    views = [o for o in outcomes if isinstance(o, flow.PaymentView)]
    errors = errors_of(outcomes)
    assert all(isinstance(e, state.PaymentInProgress) for e in errors), errors
    assert views and all(v.status is PaymentStatus.SUCCEEDED for v in views)
    assert len(views) + len(errors) == 2
    if bank == "slow":
        # The first confirmation marks the password used and is with the bank for
        # 0.3 s: the second one must be told the payment is in progress.
        assert len(views) == 1 and len(errors) == 1
    payment = get(app, Payment, view.id)
    assert payment.status == PaymentStatus.SUCCEEDED.value
    assert len(charges_at_bank(app, payment.gateway_txn_id)) == 1
    assert payment_journals(app, view.id) == 1
    invoice = get(app, Invoice, p.invoice_id)
    assert invoice.paid_amount == payment.amount == invoice.total_due
    ledger_ok(app)


# --- one invoice, two payments started at once -------------------------------------

def _card_and_confirm(app, p, payment_id: int) -> flow.PaymentView:
    view = flow.pay_with_new_card(app, payment_id, card(), token=p.token)
    if view.awaiting_otp:
        view = flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    return view


def test_two_payments_for_the_same_invoice_at_once_charge_it_once(app):
    p = payer(app)

    started = run_together([
        lambda: flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
        for _ in range(2)])

    views = [o for o in started if isinstance(o, flow.PaymentView)]
    errors = errors_of(started)
    assert all(isinstance(e, flow.InvoicePaymentInProgress) for e in errors), errors
    # Then every payer who got a payment sends the card and confirms, at once.
    paid = run_together([lambda v=v: _card_and_confirm(app, p, v.id) for v in views])
    assert all(isinstance(o, (flow.PaymentView, DomainError)) for o in paid), paid
    finals = [o for o in paid if isinstance(o, flow.PaymentView)]
    assert [v.status for v in finals].count(PaymentStatus.SUCCEEDED) == 1, paid
    # The expected outcome: the second start is refused, the invoice being paid.
    assert (len(views), len(errors)) == (1, 1), started
    with app.uow(write=False) as uow:
        rows = list(uow.session.scalars(select(Payment).where(
            Payment.invoice_id == p.invoice_id)))
    charged = [r for r in rows if r.status == PaymentStatus.SUCCEEDED.value]
    assert len(rows) == 1 and len(charged) == 1
    assert payment_journals(app) == 1
    assert len(charges_at_bank(app, charged[0].gateway_txn_id)) == 1
    invoice = get(app, Invoice, p.invoice_id)
    assert invoice.paid_amount == invoice.total_due == charged[0].amount
    ledger_ok(app)


# --- the same idempotency key from 5 threads ------------------------------------------


def both_pass_the_key_lookup(app, monkeypatch, threads: int) -> None:
    """Make the race certain: no request inserts until all looked the key up and found
    nothing. Only possible on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers."""
    barrier = threading.Barrier(threads)
    seen = threading.local()
    original = flow._existing

    def looked_up_then_wait(session, key, fingerprint):
        found = original(session, key, fingerprint)
        if not getattr(seen, "waited", False):
            seen.waited = True
            barrier.wait(timeout=10)
        return found

    monkeypatch.setattr(flow, "_existing", looked_up_then_wait)


def test_same_idempotency_key_from_five_threads_gives_one_payment(app, monkeypatch, request):
    if app.engine.dialect.name == "postgresql":
        both_pass_the_key_lookup(app, monkeypatch, 5)
    p = payer(app)
    key = new_key()

    outcomes = run_together([
        lambda: flow.start_invoice_payment(app, p.token, p.invoice_id, key)
        for _ in range(5)])

    errors = errors_of(outcomes)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    assert len({v.id for v in outcomes}) == 1
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Payment)) == 1
        assert uow.session.scalar(select(func.count()).select_from(Payment).where(
            Payment.idempotency_key == key)) == 1


def test_same_idempotency_key_for_an_account_payment_from_five_threads(app):
    p = payer(app)
    key = new_key()

    outcomes = run_together([
        lambda: flow.start_account_payment(
            app, provider_id=p.provider_id, account_number=p.account_number,
            idempotency_key=key, amount_text="500", token=p.token)
        for _ in range(5)])

    errors = errors_of(outcomes)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    assert len({v.id for v in outcomes}) == 1
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Payment).where(
            Payment.idempotency_key == key)) == 1


# --- two refunds racing for the same money ---------------------------------------------

def test_two_refunds_exceeding_the_paid_amount_at_once_only_one_passes(app):
    p = payer(app, total_due=150_000)
    view = pay_invoice(app, p)
    assert view.status is PaymentStatus.SUCCEEDED
    finance = make_staff(app, StaffRole.FINANCE)

    outcomes = run_together([
        lambda: refunds.refund(app, finance, view.id, "1000", "Ошибочная оплата")
        for _ in range(2)])

    results = [o for o in outcomes if isinstance(o, refunds.RefundResult)]
    errors = errors_of(outcomes)
    assert len(results) == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], ValidationError) and "Сумма возврата" in str(errors[0])
    payment = get(app, Payment, view.id)
    assert payment.refunded_amount == 100_000 <= payment.amount
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED.value
    with app.uow(write=False) as uow:
        rows = list(uow.session.scalars(select(Refund).where(Refund.payment_id == view.id)))
    assert [(r.amount, r.status) for r in rows] == [(100_000, RefundStatus.SUCCEEDED)]
    invoice = get(app, Invoice, p.invoice_id)
    assert invoice.paid_amount == payment.amount - payment.refunded_amount
    ledger_ok(app)


# --- receipts fiscalised by payments that succeed at once ----------------------------------

def _fiscal_numbers(app) -> list[tuple[str | None, int | None]]:
    with app.uow(write=False) as uow:
        return list(uow.session.execute(
            select(Receipt.fiscal_drive_number, Receipt.fiscal_document_number)))


def test_receipts_of_payments_succeeding_at_once_get_distinct_fiscal_numbers(app):
    """Natural timing: every receipt of 10 simultaneous payments is fiscalised, and no
    two share a fiscal document number (ФД) on the same fiscal drive (ФН)."""
    payers = [payer(app) for _ in range(10)]
    outcomes = run_together([lambda p=p: pay_invoice(app, p) for p in payers])
    assert not errors_of(outcomes), errors_of(outcomes)
    numbers = _fiscal_numbers(app)
    assert len(numbers) == 10 and all(fd is not None for _, fd in numbers)
    assert len(set(numbers)) == 10, numbers


def test_a_new_payment_does_not_wait_for_a_busy_one_of_the_same_invoice(app):
    """A confirmation holds its payment and then locks the invoice; a new payment for the
    invoice holds the invoice and asks for its live payments: waiting there would be a
    deadlock. It is told at once that the invoice is being paid."""
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks: BEGIN IMMEDIATE serialises the two")
    p = payer(app)
    key = new_key()
    busy = flow.start_invoice_payment(app, p.token, p.invoice_id, key)
    holder = app.engine.connect()
    holder.exec_driver_sql("SELECT id FROM payments WHERE id = %s FOR UPDATE", (busy.id,))
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(_attempt(
        lambda: flow.start_invoice_payment(app, p.token, p.invoice_id, new_key()))))
    thread.start()
    thread.join(timeout=15)
    finished = not thread.is_alive()
    holder.rollback()
    holder.close()
    thread.join(timeout=15)
    assert finished, "the new payment waited for the busy one's lock"
    assert isinstance(outcome[0], flow.InvoicePaymentInProgress), outcome
    assert f"платёж № {busy.id}" in str(outcome[0])
    with app.uow(write=False) as uow:  # nothing was written by the refused attempt
        assert uow.session.scalar(select(func.count()).select_from(Payment).where(
            Payment.invoice_id == p.invoice_id)) == 1
    # The same request repeated while its payment is busy gets that payment back.
    holder = app.engine.connect()
    holder.exec_driver_sql("SELECT id FROM payments WHERE id = %s FOR UPDATE", (busy.id,))
    try:
        again = flow.start_invoice_payment(app, p.token, p.invoice_id, key)
    finally:
        holder.rollback()
        holder.close()
    assert again.id == busy.id


def _attempt(job: Callable[[], Any]) -> Any:
    try:
        return job()
    except Exception as error:  # noqa: BLE001 - the test inspects it
        return error
