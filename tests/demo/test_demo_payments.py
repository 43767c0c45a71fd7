"""Demo payments (core.demo.payments via seed_demo): consistent with the invoices,
the state machine and the ledger, and free of anything that looks like a card number."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import String, Text, select

from core.actors import ActorKind
from core.db.models import Invoice, Payment, PaymentEventRecord, Provider, Refund, SavedCard, StaffUser
from core.billing.invoice_rules import InvoiceStatus
from core.demo.rich import ANCHOR, seed_demo
from core.demo.payments import _fingerprint, seed_payments
from core.money import Money
from core.payments import gateway, machine
from core.finance import ledger
from core.payments.amounts import commission
from core.payments.machine import transition

CUSTOMERS = 150
SUCCESSFUL = set(machine.values(machine.CHARGED))
DIGIT_RUN = re.compile(r"\d{16}")


@pytest.fixture
def demo(app):  # type: ignore[no-untyped-def]
    seed_demo(app, customers=CUSTOMERS, seed=11)
    return app


def _all(app, model):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalars(select(model).order_by(model.id)).all()


def test_ledger_is_consistent_and_invoices_are_paid_by_their_payments(demo):
    payments, refunds = _all(demo, Payment), _all(demo, Refund)
    with demo.uow(write=False) as uow:
        result = ledger.check(uow.session)
        invoices = uow.session.scalars(select(Invoice)).all()
        journals = Counter(uow.session.scalars(select(ledger.LedgerJournal.kind)))
    assert result.ok, result.problems
    succeeded = [p for p in payments if p.status in SUCCESSFUL]
    assert journals[ledger.KIND_PAYMENT] == len(succeeded)
    assert journals[ledger.KIND_REFUND] == len(refunds) > 0

    refunded_of = defaultdict(int)
    for r in refunds:
        refunded_of[r.payment_id] += r.amount
    net = defaultdict(int)
    for p in succeeded:
        if p.invoice_id is not None:
            net[p.invoice_id] += p.amount - refunded_of[p.id]
    paid = [i for i in invoices if i.paid_amount > 0]
    assert len(paid) > len(invoices) * 0.8
    for invoice in invoices:
        assert invoice.paid_amount == net.get(invoice.id, 0), invoice.id
        expected = (InvoiceStatus.UNPAID if invoice.paid_amount == 0
                    else InvoiceStatus.PAID if invoice.paid_amount >= invoice.total_due
                    else InvoiceStatus.PARTIALLY_PAID)
        assert invoice.status is expected, invoice.id
    # Some invoices in two parts; some invoice payments refunded, the invoice reopened.
    per_invoice = Counter(p.invoice_id for p in succeeded if p.invoice_id is not None)
    assert any(n == 2 for n in per_invoice.values())
    assert any(p.invoice_id is not None and refunded_of[p.id] for p in succeeded)


def test_payments_look_like_the_gateways_answers(demo):
    payments = _all(demo, Payment)
    with demo.uow(write=False) as uow:
        rules = {pid: (bp, minimum) for pid, bp, minimum in uow.session.execute(
            select(Provider.id, Provider.commission_bp, Provider.commission_min))}
        finance = uow.session.scalar(select(StaffUser.id).where(StaffUser.login == "finance"))
    statuses = Counter(p.status for p in payments)
    declined_share = statuses["declined"] / len(payments)
    assert 0.05 <= declined_share <= 0.20, statuses
    assert statuses["failed"] > 0 and statuses["expired"] > 0
    assert statuses["refunded"] > 0 and statuses["partially_refunded"] > 0
    assert 5 <= statuses["pending"] <= 10
    assert set(statuses) <= {"succeeded", "declined", "failed", "expired", "pending",
                             "refunded", "partially_refunded"}

    for p in payments:
        assert p.commission == commission(Money(p.amount), *rules[p.provider_id]).kopecks
        assert p.version == 1 and p.amount > 0 and len(p.request_fingerprint) == 64
        assert re.fullmatch(r"\d{6}\*{6}\d{4}", p.masked_pan or "")
        assert p.card_brand in {"visa", "mir", "mastercard"}
        assert (p.customer_id is None) == (p.receipt_email is not None)
        if p.status in SUCCESSFUL:
            assert re.fullmatch(r"\d{12}", p.rrn) and re.fullmatch(r"\d{6}", p.auth_code)
            assert p.finalized_at is not None and p.decline_code is None
            assert p.created_at <= p.finalized_at <= p.updated_at <= ANCHOR
        elif p.status == "declined":
            assert p.decline_reason == gateway.DECLINE_MESSAGES[p.decline_code]
            assert p.rrn is None
        elif p.status == "pending":
            assert p.finalized_at is None and p.created_at > ANCHOR - timedelta(days=3)
            assert p.manual_review or (p.next_check_at == ANCHOR and p.check_attempts == 0)
    assert Counter(p.decline_code for p in payments).most_common(2)[1][0] \
        == gateway.INSUFFICIENT_FUNDS  # after None: the most common decline
    assert sum(p.manual_review for p in payments) == 1
    assert len({p.gateway_txn_id for p in payments if p.gateway_txn_id}) \
        == sum(1 for p in payments if p.gateway_txn_id)
    # Arbitrary payments without a cabinet, to accounts of the register.
    anonymous = [p for p in payments if p.customer_id is None and p.invoice_id is None]
    assert anonymous and all(p.receipt_email and p.provider_account_id for p in anonymous)
    # Refunds: by the demo finance officer, summing to each payment's refunded amount.
    refunds = _all(demo, Refund)
    assert {r.requested_by_staff_id for r in refunds} == {finance}
    assert {r.status for r in refunds} == {"succeeded"}
    refunded = defaultdict(int)
    for r in refunds:
        refunded[r.payment_id] += r.amount
    for p in payments:
        assert p.refunded_amount == refunded.get(p.id, 0)
        assert (p.status == "refunded") == (p.refunded_amount == p.amount)
        assert (p.status == "partially_refunded") == (0 < p.refunded_amount < p.amount)
    assert 0.003 <= len(refunded) / len([p for p in payments if p.status in SUCCESSFUL]) <= 0.03


def test_saved_cards_have_one_default_each_and_are_used_by_their_owners(demo):
    cards, payments = _all(demo, SavedCard), _all(demo, Payment)
    by_customer = defaultdict(list)
    for card in cards:
        by_customer[card.customer_id].append(card)
        assert re.fullmatch(r"\d{6}\*{6}\d{4}", card.masked_pan)
        assert card.exp_year > ANCHOR.year and card.removed_at is None
    assert 0.25 * CUSTOMERS <= len(by_customer) <= 0.5 * CUSTOMERS
    assert all(sum(c.is_default for c in own) == 1 for own in by_customer.values())
    assert any(len(own) == 2 for own in by_customer.values())
    card_of = {c.id: c for c in cards}
    with_card = [p for p in payments if p.saved_card_id is not None]
    assert len(with_card) > len(payments) * 0.1
    for p in with_card:
        card = card_of[p.saved_card_id]
        assert card.customer_id == p.customer_id
        assert (card.masked_pan, card.brand) == (p.masked_pan, p.card_brand)
        assert card.created_at <= p.created_at


def test_every_payment_has_its_timeline(demo):
    payments, events = _all(demo, Payment), _all(demo, PaymentEventRecord)
    with demo.uow(write=False) as uow:
        finance = uow.session.scalar(select(StaffUser.id).where(StaffUser.login == "finance"))
    timeline = defaultdict(list)
    for e in sorted(events, key=lambda e: (e.at, e.id)):
        timeline[e.payment_id].append(e)
    for p in payments:
        own = timeline[p.id]
        assert own, p.id
        assert own[0].event == "authorize_sent" and own[0].from_status == "created"
        assert own[-1].to_status == p.status, p.id
        for before, after in pairwise(own):
            assert after.from_status == before.to_status
        for e in own:
            assert transition(e.from_status, e.event).value == e.to_status
            if e.event.startswith("refund_"):
                assert e.actor_kind is ActorKind.STAFF and e.staff_id == finance
            elif e.actor_kind is ActorKind.CUSTOMER:
                assert p.customer_id is not None
            if e.event == "otp_confirmed":
                assert e.details == {"rrn": p.rrn, "auth_code": p.auth_code}
            elif e.to_status in ("declined", "failed"):
                assert e.details == {"decline_code": p.decline_code}
        assert own[0].at == p.created_at
    kinds = Counter(e.event for e in events)
    assert kinds["gateway_declined"] and kinds["otp_expired"] and kinds["gateway_error"]
    assert kinds["refund_full"] and kinds["refund_partial"] and kinds["gateway_timeout"]


def test_no_card_number_anywhere(demo):
    with demo.uow(write=False) as uow:
        s = uow.session
        for model in (Payment, SavedCard, PaymentEventRecord, Refund):
            table = model.__table__
            columns = [c for c in table.c if isinstance(c.type, (String, Text))
                       or c.name == "details"]
            assert columns
            for row in s.execute(select(*columns)):
                for value in row:
                    assert not DIGIT_RUN.search(str(value or "")), (table.name, value)


def test_fingerprints_never_look_like_card_numbers():
    # Salted until clean: about 2-3 % of SHA-256 hex digests contain 16 digits in a row.
    prints = [_fingerprint("demo", n) for n in range(3000)]
    assert all(len(p) == 64 and not DIGIT_RUN.search(p) for p in prints)
    assert len(set(prints)) == 3000


def test_refunds_need_the_finance_officer(app):
    import random

    with app.uow() as uow, pytest.raises(LookupError):
        seed_payments(uow.session, random.Random(1), [1], ANCHOR)
