"""Refunds above the threshold need a second finance user (four-eyes)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Payment, Refund
from core.actors import StaffRole
from core.errors import ValidationError
from core.payments.machine import PaymentStatus
from core.payments import refunds
from tests.factories.customers import make_staff
from tests.factories.payment_flow import pay_invoice, payer
from tests.factories.dbstate import snapshot

BIG = 3_000_000  # 30 000 ₽: above the default 10 000 ₽ threshold


def _refund(app, refund_id: int) -> Refund:
    with app.uow(write=False) as uow:
        row = uow.session.get(Refund, refund_id)
        assert row is not None
        return row


def _payment(app, payment_id: int) -> Payment:
    with app.uow(write=False) as uow:
        row = uow.session.get(Payment, payment_id)
        assert row is not None
        return row


def _actions(app) -> list[tuple[str, int | None]]:
    with app.uow(write=False) as uow:
        return [(a.action, a.staff_id) for a in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("payment.refund%"))
            .order_by(AuditEntry.id))]


def test_a_big_refund_waits_for_a_second_finance_user(app) -> None:
    asker, approver = make_staff(app, StaffRole.FINANCE), make_staff(app, StaffRole.FINANCE)
    view = pay_invoice(app, payer(app, total_due=BIG))
    asked = refunds.refund(app, asker, view.id, "20000", "Ошибочная оплата")
    assert asked.awaiting_approval and asked.payment_status is PaymentStatus.SUCCEEDED
    txn = _payment(app, view.id).gateway_txn_id
    assert app.gateway.status(txn).refunded_kopecks == 0  # nothing sent yet
    # The money is held: nobody can refund it twice meanwhile.
    with pytest.raises(ValidationError, match="Сумма возврата: не больше 10\u00a0000,00"):
        refunds.refund(app, approver, view.id, "10000,01", "Ещё возврат")
    with pytest.raises(refunds.ApprovalError, match="другой сотрудник"):
        refunds.approve(app, asker, asked.refund_id)
    done = refunds.approve(app, approver, asked.refund_id)
    assert done.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert app.gateway.status(txn).refunded_kopecks == 2_000_000
    row = _refund(app, asked.refund_id)
    assert (row.status, row.requested_by_staff_id, row.approved_by_staff_id) == (
        "succeeded", asker.staff_id, approver.staff_id)
    assert _actions(app) == [("payment.refund_request", asker.staff_id),
                             ("payment.refund_approve", approver.staff_id),
                             ("payment.refund", approver.staff_id)]
    with pytest.raises(refunds.ApprovalError, match="уже не ждёт"):
        refunds.approve(app, approver, asked.refund_id)


def test_a_rejected_refund_frees_the_money_and_needs_a_comment(app) -> None:
    asker, other = make_staff(app, StaffRole.FINANCE), make_staff(app, StaffRole.FINANCE)
    view = pay_invoice(app, payer(app, total_due=BIG))
    asked = refunds.refund(app, asker, view.id, "30000", "Просьба клиента")
    before = snapshot(app)
    with pytest.raises(ValidationError, match="Комментарий"):
        refunds.reject(app, other, asked.refund_id, "  ")
    assert snapshot(app) == before
    refunds.reject(app, other, asked.refund_id, "Клиент отозвал заявление")
    row = _refund(app, asked.refund_id)
    assert (row.status, row.review_comment) == ("rejected", "Клиент отозвал заявление")
    assert _payment(app, view.id).refunded_amount == 0
    small = refunds.refund(app, other, view.id, "100", "Частичный возврат")
    assert not small.awaiting_approval and small.refunded_total.kopecks == 10_000


def test_refunds_up_to_the_threshold_go_at_once(app) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    view = pay_invoice(app, payer(app, total_due=BIG))
    result = refunds.refund(app, finance, view.id, "10000", "Ровно порог")
    assert not result.awaiting_approval
    assert result.payment_status is PaymentStatus.PARTIALLY_REFUNDED
