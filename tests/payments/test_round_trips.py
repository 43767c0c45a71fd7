"""The payment flow's round trips: a regression guard for its speed that does not time.

A payment (create, card, one-time password, confirm with ledger, invoice, receipt,
fiscal data and the result message) costs a fixed number of SQL statements and
commits. Each statement is a round trip through SQLAlchemy, and that, not SQLite, is
what the flow's time goes to (benchmarks/payment_flow.py): a change that adds re-reads,
a flush per row or a transaction shows here as a higher count.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event, func, select

from core.app import App
from core.clock import FrozenClock
from core.db.models import (
    LedgerEntry, LedgerJournal, OutboxMessage, Payment, PaymentEventRecord, PaymentOtp, Receipt,
)
from core.payments.machine import PaymentStatus
from core.payments import flow
from tests.factories.payment_flow import card, last_otp, new_key, payer

# What the flow costs today (SQLite counts its BEGIN IMMEDIATE statements, PostgreSQL's
# driver begins implicitly): 6 transactions — create; card sent; gateway's answer;
# password marked used; charge recorded; fiscal data and the result message.
# PostgreSQL: +2 for the savepoint around the invoice's live payments locked NOWAIT.
MAX_STATEMENTS = {"sqlite": 45, "postgresql": 41}
COMMITS = 6


@dataclass
class Counter:
    statements: list[str] = field(default_factory=list)
    commits: int = 0
    on: bool = True


@contextmanager
def counting(app: App) -> Iterator[Counter]:
    counter = Counter()

    def on_statement(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        if counter.on:
            counter.statements.append(statement)

    def on_commit(_conn) -> None:  # type: ignore[no-untyped-def]
        counter.commits += counter.on

    event.listen(app.engine, "before_cursor_execute", on_statement)
    event.listen(app.engine, "commit", on_commit)
    try:
        yield counter
    finally:
        event.remove(app.engine, "before_cursor_execute", on_statement)
        event.remove(app.engine, "commit", on_commit)


def _pay(app: App, clock: FrozenClock, counter: Counter) -> flow.PaymentView:
    p = payer(app)
    counter.statements.clear()
    counter.commits, counter.on = 0, True
    # The payer takes a few seconds per step, as a person does: a frozen clock would
    # spare the session's «last seen» its UPDATE and undercount.
    clock.advance(seconds=5)
    view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    clock.advance(seconds=5)
    view = flow.pay_with_new_card(app, view.id, card(), token=p.token)
    counter.on = False  # the test reads the code from the outbox: not the flow's cost
    code = last_otp(app, view.id)
    counter.on = True
    clock.advance(seconds=5)
    view = flow.confirm_payment(app, view.id, code, token=p.token)
    counter.on = False
    return view


def _count(app: App, model: type) -> int:
    with app.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_payment_costs_a_bounded_number_of_statements_and_six_commits(app, clock) -> None:
    with counting(app) as counter:
        _pay(app, clock, counter)  # warms the caches
        view = _pay(app, clock, counter)
    assert view.status is PaymentStatus.SUCCEEDED
    limit = MAX_STATEMENTS[app.engine.dialect.name]
    assert len(counter.statements) <= limit, "\n".join(counter.statements)
    assert counter.commits == COMMITS


def test_the_counted_flow_wrote_everything_a_payment_writes(app, clock) -> None:
    """The bound above is only worth something if the flow still does the whole job."""
    with counting(app) as counter:
        view = _pay(app, clock, counter)
    assert view.status is PaymentStatus.SUCCEEDED
    assert {model.__name__: _count(app, model) for model in (
        Payment, PaymentEventRecord, PaymentOtp, LedgerJournal, LedgerEntry, Receipt,
    )} == {"Payment": 1, "PaymentEventRecord": 4, "PaymentOtp": 1, "LedgerJournal": 1,
           "LedgerEntry": 3, "Receipt": 1}
    with app.uow(write=False) as uow:
        receipt = uow.session.scalar(select(Receipt).where(Receipt.payment_id == view.id))
        assert receipt is not None and receipt.fiscal_document_number is not None
        topics = set(uow.session.scalars(select(OutboxMessage.topic)))
    assert {"payment_otp", "payment_result"} <= topics
