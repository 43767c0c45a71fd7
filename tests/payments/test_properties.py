"""Property tests: random sequences of payment actions never break the money invariants.

Hypothesis drives payers through starts, cards (every simulator scenario), right and
wrong passwords, the clock running past the password's lifetime, the recovery and
expiry jobs, and refunds (some above what is left). After every step the whole
database must agree with itself:

* the ledger's own check passes;
* no invoice is paid above its total, and its paid amount is exactly what its
  charged payments paid minus what was refunded of them;
* the clearing account holds exactly the charged amounts (amount + commission) of
  the successful payments minus the refunds;
* no payment has more refunded than its amount;
* every payment's last event leads to its current status.

The ``app`` database lives across the examples of one test function; the
invariants are global, so the examples simply accumulate (fresh payers each time).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as hs
from sqlalchemy import func, select

from core.timefmt import moscow_date
from core.db.models import Invoice, LedgerJournal, Payment, PaymentEventRecord
from core.actors import StaffRole
from core.errors import DomainError, ValidationError
from core.payments import flow, gateway as g, recovery, refunds, state
from core.finance import ledger
from core.payments.machine import IllegalTransition, PaymentEvent as Event, PaymentStatus
from tests.factories.customers import make_staff
from tests.factories.payment_flow import (DECLINED_CARD, ERROR_CARD, INSUFFICIENT_CARD, MIR_CARD,
                                          OK_CARD, TIMEOUT_CHARGED_CARD, TIMEOUT_NOT_CHARGED_CARD,
                                          card, last_otp, new_key, pay_invoice, payer, wrong_otp)

CARDS = [OK_CARD, MIR_CARD, DECLINED_CARD, INSUFFICIENT_CARD, ERROR_CARD,
         TIMEOUT_CHARGED_CARD, TIMEOUT_NOT_CHARGED_CARD]
CHARGED = (PaymentStatus.SUCCEEDED.value, PaymentStatus.PARTIALLY_REFUNDED.value,
           PaymentStatus.REFUNDED.value)
PAYERS = 2

# --- actions ------------------------------------------------------------------------

# Which of the example's payments an action is about: mostly the latest one.
WHICH = hs.one_of(hs.just(-1), hs.just(-1), hs.integers(0, 20))

ACTIONS = hs.one_of(
    hs.tuples(hs.just("start_invoice"), hs.integers(0, PAYERS - 1)),
    hs.tuples(hs.just("start_account"), hs.integers(0, PAYERS - 1),
              hs.integers(100, 300_000), hs.booleans()),
    hs.tuples(hs.just("card"), WHICH, hs.sampled_from(CARDS)),
    hs.tuples(hs.just("confirm"), WHICH),
    hs.tuples(hs.just("confirm_wrong"), WHICH),
    hs.tuples(hs.just("pay"), hs.integers(0, PAYERS - 1), hs.sampled_from(CARDS)),
    hs.tuples(hs.just("advance"),),
    hs.tuples(hs.just("recover"),),
    hs.tuples(hs.just("expire"),),
    hs.tuples(hs.just("refund"), WHICH, hs.integers(1, 1000), hs.booleans()),
)


def rubles(kopecks: int) -> str:
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def otp_or_none(app, payment_id: int) -> str | None:
    try:
        return last_otp(app, payment_id)
    except AssertionError:
        return None


def load(app, payment_id: int) -> Payment:
    with app.uow(write=False) as uow:
        payment = uow.session.get(Payment, payment_id)
        assert payment is not None
        uow.session.expunge(payment)
        return payment


def do(app, clock, action, payers, started, finance) -> None:
    """One action; a domain refusal is an acceptable outcome, anything else fails."""
    name = action[0]
    pick = (lambda i: started[i % len(started)]) if started else None
    if name == "start_invoice":
        p = payers[action[1]]
        view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
        started.append((view.id, p))
    elif name == "start_account":
        p = payers[action[1]]
        view = flow.start_account_payment(
            app, provider_id=p.provider_id, account_number=p.account_number,
            idempotency_key=new_key(), amount_text=rubles(action[2]),
            pay_last_invoice=action[3], token=p.token)
        started.append((view.id, p))
    elif name == "pay":
        # The whole flow at once (start an arbitrary payment, card, right password).
        p = payers[action[1]]
        view = flow.start_account_payment(
            app, provider_id=p.provider_id, account_number=p.account_number,
            idempotency_key=new_key(), amount_text="700", token=p.token)
        started.append((view.id, p))
        view = flow.pay_with_new_card(app, view.id, card(action[2]), token=p.token)
        if view.awaiting_otp:
            flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    elif name == "card" and pick:
        payment_id, p = pick(action[1])
        flow.pay_with_new_card(app, payment_id, card(action[2]), token=p.token)
    elif name in ("confirm", "confirm_wrong") and pick:
        payment_id, p = pick(action[1])
        code = otp_or_none(app, payment_id) or "123456"
        if name == "confirm_wrong":
            code = wrong_otp(code)
        flow.confirm_payment(app, payment_id, code, token=p.token)
    elif name == "advance":
        clock.advance(minutes=6)
    elif name == "recover":
        recovery.recover_due(app)
    elif name == "expire":
        recovery.expire_stale(app)
    elif name == "refund" and pick:
        payment_id, _ = pick(action[1])
        payment = load(app, payment_id)
        left = payment.amount - payment.refunded_amount
        too_much = action[3]
        amount = left + action[2] if too_much else max(1, left * action[2] // 1000)
        if too_much and payment.status in refunds.REFUNDABLE:
            with pytest.raises(ValidationError, match="Сумма возврата"):
                refunds.refund(app, finance, payment_id, rubles(amount), "Проверка")
            return
        refunds.refund(app, finance, payment_id, rubles(amount), "Проверка")


# --- invariants -----------------------------------------------------------------------

def assert_invariants(app) -> None:
    with app.uow(write=False) as uow:
        s = uow.session
        check = ledger.check(s)
        assert check.ok, check.problems

        all_payments = list(s.scalars(select(Payment)))
        for payment in all_payments:
            assert 0 <= payment.refunded_amount <= payment.amount, payment.id
            if payment.refunded_amount:
                assert payment.status in CHARGED[1:], (payment.id, payment.status)
            last = s.scalar(select(PaymentEventRecord.to_status)
                            .where(PaymentEventRecord.payment_id == payment.id)
                            .order_by(PaymentEventRecord.id.desc()).limit(1))
            assert last == payment.status, (payment.id, last, payment.status)
            journals = s.scalar(select(func.count()).select_from(LedgerJournal).where(
                LedgerJournal.kind == ledger.KIND_PAYMENT,
                LedgerJournal.payment_id == payment.id))
            assert journals == (1 if payment.status in CHARGED else 0), (
                payment.id, payment.status, journals)

        for invoice in s.scalars(select(Invoice)):
            assert 0 <= invoice.paid_amount <= invoice.total_due, invoice.id
            expected = sum(p.amount - p.refunded_amount for p in all_payments
                           if p.invoice_id == invoice.id and p.status in CHARGED)
            assert invoice.paid_amount == expected, (invoice.id, invoice.paid_amount, expected)

        clearing = ledger.balances(s).clearing
        expected = sum(p.amount + p.commission - p.refunded_amount for p in all_payments
                       if p.status in CHARGED)
        assert clearing == expected, (clearing, expected)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(actions=hs.lists(ACTIONS, min_size=1, max_size=20))
def test_random_payment_sequences_keep_the_money_invariants(app, clock, actions):
    payers = [payer(app) for _ in range(PAYERS)]
    finance = make_staff(app, StaffRole.FINANCE)
    started: list[tuple[int, object]] = []
    for action in actions:
        try:
            do(app, clock, action, payers, started, finance)
            event(f"{action[0]}: ok")
        except DomainError as error:
            # A refusal (wrong password, already paid, in progress...) is fine.
            event(f"{action[0]}: {type(error).__name__}")
        assert_invariants(app)
    with app.uow(write=False) as uow:
        for (status,) in uow.session.execute(select(Payment.status).where(
                Payment.id.in_([i for i, _ in started]))):
            event(f"status {status}")
    # In the end the bank agrees: every charged payment was charged there exactly once.
    day_lines = []
    for days in range(3):
        day = moscow_date(clock.now() - timedelta(days=days))
        day_lines += app.gateway.settlement_registry(day)
    with app.uow(write=False) as uow:
        charged = list(uow.session.execute(select(Payment.gateway_txn_id, Payment.status)
                                           .where(Payment.id.in_([i for i, _ in started]))))
    for txn, status in charged:
        at_bank = [x for x in day_lines
                   if x.gateway_txn_id == txn and x.operation is g.Operation.PAYMENT]
        if status in CHARGED:
            assert len(at_bank) == 1, (txn, status)
        elif status != PaymentStatus.PENDING.value:
            assert not at_bank, (txn, status)


# --- deterministic edges ------------------------------------------------------------------

def _journals(app, payment_id: int) -> int:
    with app.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(LedgerJournal).where(
            LedgerJournal.payment_id == payment_id)) or 0)


@pytest.mark.parametrize("expired_by", ["expiry_job", "late_confirmation"])
def test_confirming_an_expired_payment_never_charges(app, clock, expired_by):
    p = payer(app)
    view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    view = flow.pay_with_new_card(app, view.id, card(), token=p.token)
    code = last_otp(app, view.id)
    clock.advance(minutes=6)
    if expired_by == "expiry_job":
        # The job looks once the password's lifetime and the in-flight margin are over.
        clock.advance(minutes=2)
        recovery.expire_stale(app)
        assert load(app, view.id).status == PaymentStatus.EXPIRED.value

    final = flow.confirm_payment(app, view.id, code, token=p.token)

    assert final.status is PaymentStatus.EXPIRED
    again = flow.confirm_payment(app, view.id, code, token=p.token)
    assert again.status is PaymentStatus.EXPIRED
    payment = load(app, view.id)
    assert payment.status == PaymentStatus.EXPIRED.value and payment.rrn is None
    assert _journals(app, view.id) == 0
    day = moscow_date(clock.now())
    assert not [x for x in app.gateway.settlement_registry(day)
                if x.gateway_txn_id == payment.gateway_txn_id]
    with app.uow(write=False) as uow:
        assert uow.session.get(Invoice, p.invoice_id).paid_amount == 0
    assert_invariants(app)


def test_refunding_a_declined_payment_is_not_refundable(app):
    p = payer(app)
    view = pay_invoice(app, p, DECLINED_CARD)
    assert view.status is PaymentStatus.DECLINED
    finance = make_staff(app, StaffRole.FINANCE)
    with pytest.raises(refunds.NotRefundable, match="Отклонён"):
        refunds.refund(app, finance, view.id, "10", "Проверка")
    assert load(app, view.id).refunded_amount == 0
    assert_invariants(app)


def test_illegal_transitions_are_refused_and_change_nothing(app):
    p = payer(app)
    view = pay_invoice(app, p)
    assert view.status is PaymentStatus.SUCCEEDED
    for illegal in (Event.OTP_CONFIRMED, Event.OTP_EXPIRED, Event.AUTHORIZE_SENT,
                  Event.STATUS_SUCCEEDED, Event.ABANDONED):
        with app.uow() as uow:
            payment = state.lock_payment(uow.session, view.id)
            with pytest.raises(IllegalTransition):
                state.apply(uow.session, payment, illegal, now=app.now(), actor=state.SYSTEM)
            with pytest.raises(IllegalTransition):
                state.succeed(uow.session, payment, illegal, now=app.now(), actor=state.SYSTEM,
                              rrn=None, auth_code=None)
    # Nothing was written: still one success, one journal, the invoice paid once.
    payment = load(app, view.id)
    assert payment.status == PaymentStatus.SUCCEEDED.value
    assert _journals(app, view.id) == 1
    # And the services refuse the same moves: a final payment is never charged again.
    again = flow.confirm_payment(app, view.id, "000000", token=p.token)
    assert again.status is PaymentStatus.SUCCEEDED
    assert _journals(app, view.id) == 1
    declined = pay_invoice(app, payer(app), DECLINED_CARD)
    with app.uow() as uow:
        payment = state.lock_payment(uow.session, declined.id)
        with pytest.raises(IllegalTransition):
            state.succeed(uow.session, payment, Event.STATUS_SUCCEEDED, now=app.now(),
                       actor=state.SYSTEM, rrn="1", auth_code="1")
    assert load(app, declined.id).status == PaymentStatus.DECLINED.value
    assert _journals(app, declined.id) == 0
    assert_invariants(app)
