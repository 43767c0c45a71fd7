"""The refund state table: what may happen to a refund in each status, and that the use
cases move refunds only through it."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from core.actors import StaffRole
from core.db.models import Refund
from core.payments import refunds
from core.payments.refund_machine import (
    FINAL, HOLDING, STATUS_LABELS, TRANSITIONS, IllegalRefundTransition, RefundEvent,
    RefundStatus, first_status, status_label, transition,
)
from tests.factories.customers import make_staff
from tests.factories.payment_flow import pay_invoice, payer

R, E = RefundStatus, RefundEvent


def test_the_table_moves_a_refund_from_asking_to_its_outcome() -> None:
    assert first_status(four_eyes=True) is R.AWAITING_APPROVAL
    assert first_status(four_eyes=False) is R.REQUESTED
    assert transition("awaiting_approval", E.APPROVED) is R.REQUESTED
    assert transition(R.AWAITING_APPROVAL, E.REJECTED) is R.REJECTED
    assert transition(R.REQUESTED, E.BANK_SUCCEEDED) is R.SUCCEEDED
    assert transition(R.REQUESTED, E.BANK_DECLINED) is R.DECLINED
    assert transition(R.DECLINED, E.BANK_SUCCEEDED) is R.SUCCEEDED  # the bank's late word


@pytest.mark.parametrize("status", list(RefundStatus))
@pytest.mark.parametrize("event", list(RefundEvent))
def test_every_move_outside_the_table_is_refused_in_russian(status, event) -> None:
    if (status, event) in TRANSITIONS:
        assert transition(status, event) is TRANSITIONS[(status, event)]
        return
    with pytest.raises(IllegalRefundTransition) as refused:
        transition(status, event)
    assert refused.value.message.startswith("Возврат: действие «")
    assert f"({status.value} -> {event.value})" in refused.value.message


def test_holding_and_final_statuses_split_the_table() -> None:
    assert HOLDING == {R.AWAITING_APPROVAL, R.REQUESTED}
    assert HOLDING.isdisjoint(FINAL) and HOLDING | FINAL == set(RefundStatus)
    # Nothing leaves a final status except the bank's late success of a declined refund.
    assert {(s, e) for (s, e) in TRANSITIONS if s in FINAL} == {(R.DECLINED, E.BANK_SUCCEEDED)}
    assert set(STATUS_LABELS) == set(RefundStatus)
    assert status_label("rejected") == "Отклонён сотрудником"
    assert status_label("something_old") == "something_old"


def test_approving_a_rejected_refund_is_refused_by_the_use_case(app) -> None:
    asker, other = make_staff(app, StaffRole.FINANCE), make_staff(app, StaffRole.FINANCE)
    view = pay_invoice(app, payer(app, total_due=3_000_000))
    asked = refunds.refund(app, asker, view.id, "20000", "Ошибочная оплата")
    refunds.reject(app, other, asked.refund_id, "Клиент отозвал заявление")
    with pytest.raises(refunds.ApprovalError, match="уже не ждёт"):
        refunds.approve(app, other, asked.refund_id)
    with app.uow(write=False) as uow:
        row = uow.session.get(Refund, asked.refund_id)
        assert row is not None and row.status == R.REJECTED


def test_a_bank_refusal_does_not_overwrite_a_refund_already_settled(app) -> None:
    """A repeat that fails must not mark as declined a refund that a parallel repeat has
    recorded as done: the money did go back."""
    finance = make_staff(app, StaffRole.FINANCE)
    view = pay_invoice(app, payer(app))
    done = refunds.refund(app, finance, view.id, "100", "Ошибочная оплата")
    refunds._decline(app, done.refund_id)
    with app.uow(write=False) as uow:
        row = uow.session.get(Refund, done.refund_id)
        assert row is not None and row.status == R.SUCCEEDED
        assert row.gateway_refund_id is not None
    with app.uow() as uow:  # an attempt still in flight is closed as declined
        uow.session.execute(update(Refund).where(Refund.id == done.refund_id)
                            .values(status=R.REQUESTED.value))
        uow.commit()
    refunds._decline(app, done.refund_id)
    with app.uow(write=False) as uow:
        row = uow.session.get(Refund, done.refund_id)
        assert row is not None and row.status == R.DECLINED and row.completed_at is not None
