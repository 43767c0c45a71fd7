"""A day of real payments through the services and the simulator, and the bank's
registry of it edited to hold one known discrepancy of every class."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import select

from core.app import App
from core.db.models import Payment
from core.actors import StaffRole
from core.finance.bank_registry import registry_for_period
from core.payments import gateway as g, refunds
from core.timefmt import moscow_date
from tests.factories.customers import make_staff
from tests.factories.payment_flow import TIMEOUT_CHARGED_CARD, pay_invoice, payer

DAY = date(2026, 11, 25)  # the FrozenClock's day (09:00 UTC = 12:00 Moscow)


@dataclass(frozen=True)
class Scenario:
    lines: list[g.SettlementLine]  # the edited registry
    original: list[g.SettlementLine]  # what the simulator reported
    ids: dict[str, int]  # role in the story -> payment id
    expected: dict[str, str]  # role -> the class it must land in


def _pay(app: App, clock, card: str | None = None, total_due: int = 150_000) -> int:  # type: ignore[no-untyped-def]
    clock.advance(minutes=3)
    p = payer(app, total_due=total_due)
    view = pay_invoice(app, p) if card is None else pay_invoice(app, p, card)
    return view.id


def build(app: App, clock) -> Scenario:  # type: ignore[no-untyped-def]
    """Payments: three plain ones, one refunded in part, one the bank will lose, one
    with a different amount at the bank, one doubled at the bank, one whose line lost
    its ids (found by amount + card + time), one charged but pending at ours; plus a
    bank line for a payment we never had and a refund line for a payment never refunded."""
    ids = {name: _pay(app, clock, total_due=100_000 + n * 1_000) for n, name in enumerate(
        ("plain1", "plain2", "refunded", "lost_at_bank", "amount", "doubled", "no_ids",
         "refund_unknown"))}
    ids["pending"] = _pay(app, clock, TIMEOUT_CHARGED_CARD, total_due=123_400)
    finance = make_staff(app, StaffRole.FINANCE)
    clock.advance(minutes=3)
    refunds.refund(app, finance, ids["refunded"], "100", "Ошибочная оплата")
    original = registry_for_period(app, DAY, DAY)
    with app.uow(write=False) as uow:
        txn = {pid: t for pid, t in uow.session.execute(select(Payment.id, Payment.gateway_txn_id))}
    by_txn = {v: k for k, v in txn.items() if v}
    lines: list[g.SettlementLine] = []
    for line in original:
        who = next(n for n, pid in ids.items() if pid == by_txn.get(line.gateway_txn_id)) \
            if line.gateway_txn_id in by_txn else "pending"
        if line.operation is g.Operation.PAYMENT and who == "lost_at_bank":
            continue
        if line.operation is g.Operation.PAYMENT and who == "amount":
            line = replace(line, amount_kopecks=line.amount_kopecks + 50)
        if line.operation is g.Operation.PAYMENT and who == "no_ids":
            # The bank's own reference instead of ours, no RRN: found by amount + card + time.
            line = replace(line, gateway_txn_id="BANK-REF-000777", rrn="",
                           time=line.time + timedelta(minutes=2))
        lines.append(line)
        if line.operation is g.Operation.PAYMENT and who == "doubled":
            lines.append(line)
    last = original[-1]
    lines.append(g.SettlementLine("txn-unknown-000001", "699999999999", "220000******0004",
                                  77_700, g.Operation.PAYMENT, last.time + timedelta(minutes=1)))
    refund_unknown = next(x for x in original if x.gateway_txn_id == txn[ids["refund_unknown"]])
    lines.append(replace(refund_unknown, rrn="688888888888", amount_kopecks=5_000,
                         operation=g.Operation.REFUND, time=last.time + timedelta(minutes=2)))
    expected = {"plain1": "matched", "plain2": "matched", "refunded": "matched",
                "lost_at_bank": "missing_at_bank", "amount": "amount_differs",
                "doubled": "matched", "no_ids": "matched", "pending": "status_differs",
                "refund_unknown": "matched"}
    assert all(moscow_date(x.time) == DAY for x in lines)
    return Scenario(lines, original, ids, expected)


# The bank's lines that are not a payment's first payment line, by what they are.
EXTRA_LINES = {"unknown_payment": "missing_at_ours", "second_of_doubled": "duplicate_at_bank",
               "refund_of_refunded": "matched", "refund_never_made": "status_differs"}
