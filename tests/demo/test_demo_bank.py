"""The simulated bank learns the demo's history: refunds, status queries and saved
cards work on demo payments; pending ones resolve both ways."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.app import build_app
from core.config import Settings
from core.db.models import Payment, Refund, SavedCard
from core.actors import StaffRole
from core.demo.rich import seed_demo
from core.demo.bank import seed_bank
from core.payments.machine import PaymentStatus
from core.payments import gateway as g, recovery, refunds
from core.timefmt import moscow_date
from tests.conftest import TEST_SECRETS
from tests.factories.customers import make_staff


@pytest.fixture
def demo_app(app, tmp_path: Path):
    """The test app, but with the bank kept in a file as `make run` does."""
    settings = Settings(database_url=app.settings.database_url, secrets_file=tmp_path / "s.toml",
                        notify_log_dir=tmp_path, hashing=app.settings.hashing,
                        gateway_state_file=tmp_path / "acquirer.db")
    application = build_app(settings, clock=app.clock, secrets=TEST_SECRETS,
                            senders=app.senders, engine=app.engine)
    seed_demo(application, customers=60, seed=3)
    return application


def test_demo_history_is_known_to_the_bank(demo_app) -> None:
    added = seed_bank(demo_app)
    assert added > 0 and seed_bank(demo_app) == 0  # a second run adds nothing
    with demo_app.uow(write=False) as uow:
        paid = uow.session.scalar(select(Payment).where(
            Payment.status == PaymentStatus.SUCCEEDED.value).order_by(Payment.id).limit(1))
        card = uow.session.scalar(select(SavedCard).limit(1))
    answer = demo_app.gateway.status(paid.gateway_txn_id)
    assert answer.status.value == "succeeded" and answer.rrn == paid.rrn
    finance = make_staff(demo_app, StaffRole.FINANCE)
    result = refunds.refund(demo_app, finance, paid.id, "1", "Проверка возврата на демо-данных")
    assert result.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert card is not None  # its token is the bank's too (checked by the saved-card flow)


def test_demo_pending_payments_resolve_both_ways(demo_app) -> None:
    seed_bank(demo_app)
    report = recovery.recover_due(demo_app)
    assert report.checked >= 1
    assert set(report.outcomes) <= {"succeeded", "declined"}
    with demo_app.uow(write=False) as uow:
        left = list(uow.session.scalars(select(Payment.manual_review).where(
            Payment.status == PaymentStatus.PENDING.value)))
    assert left and all(left)  # only the one flagged for a person stays unknown


def test_the_demos_refunds_keep_the_rrn_the_banks_registry_lists_them_under(demo_app) -> None:
    seed_bank(demo_app)
    with demo_app.uow(write=False) as uow:
        made = uow.session.execute(select(Refund.rrn, Refund.completed_at).where(
            Refund.status == "succeeded").order_by(Refund.id)).all()
    assert made and all(rrn for rrn, _ in made)
    rrn, done = made[0]
    lines = demo_app.gateway.settlement_registry(moscow_date(done))
    assert rrn in {x.rrn for x in lines if x.operation is g.Operation.REFUND}
