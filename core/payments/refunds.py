"""Refunds (finance): full or partial, with a reason, never above what was paid.

Above ``REFUND_APPROVAL_RUB`` a refund needs two people (four-eyes): one finance
user asks (``awaiting_approval``: the money is held back, nothing is sent), another
approves — then it goes to the gateway — or rejects it with a comment. Both
steps are in the audit log.

Like a charge, a refund is recorded before the gateway is called (status
``requested``, counted against what is left to refund, so two refunds racing
for the same money cannot both pass), and its answer is recorded after. A lost
answer leaves the refund ``requested``; the recovery job repeats it with the
same idempotency key, which the gateway answers without refunding twice.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.actors import StaffActor, require_role
from core.app import App
from core.db import leases
from core.db.models import Payment, Refund
from core.errors import NotFound, ValidationError
from core.text import refuse_control_characters
from core.money import Money
from core.payments import gateway as g, state
from core.finance import ledger
from core.payments.amounts import parse_payment_amount
from core.payments.refund_machine import (HOLDING, RefundEvent, RefundStatus, first_status,
                                          transition, values)
from core.payments.machine import REFUNDABLE, UNDECIDED, PaymentEvent, PaymentStatus, status_label
from core.staff import audit, permissions
from core.billing import invoices
from core.analytics import rollups

REFUNDERS = permissions.MONEY_MOVERS
AMOUNT_LABEL = "Сумма возврата"
REASON_LABEL = "Причина возврата"


class NotRefundable(state.PaymentError):
    code = "not_refundable"

    def __init__(self, status_label: str) -> None:
        super().__init__(f"Возврат возможен только по успешному платежу; статус платежа: "
                         f"«{status_label}»")


class RefundDeclined(state.PaymentError):
    code = "refund_declined"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Банк отказал в возврате: {reason}")


class RefundPending(state.PaymentError):
    code = "refund_pending"

    def __init__(self) -> None:
        super().__init__("Банк не ответил на запрос возврата; результат будет уточнён "
                         "автоматически, повторять возврат не нужно")


class ApprovalError(state.PaymentError):
    code = "refund_approval"


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    amount: Money
    payment_status: PaymentStatus
    refunded_total: Money
    awaiting_approval: bool = False  # asked; a second finance user must approve it


def _in_flight(s: Session, payment_id: int, *, but: int | None = None) -> int:
    query = select(func.coalesce(func.sum(Refund.amount), 0)).where(
        Refund.payment_id == payment_id, Refund.status.in_(values(HOLDING)))
    if but is not None:
        query = query.where(Refund.id != but)
    return s.scalar(query) or 0


def refundable(s: Session, payment: Payment, *, but: int | None = None) -> int:
    """What may still be refunded, kopecks: paid to the provider, minus refunds done,
    under way or awaiting approval (the commission is the agent's fee and stays)."""
    return payment.amount - payment.refunded_amount - _in_flight(s, payment.id, but=but)


def refund(app: App, actor: StaffActor, payment_id: int, amount_text: str,
           reason: str) -> RefundResult:
    require_role(actor, REFUNDERS, "Возврат платежа")
    why = " ".join(refuse_control_characters(reason, REASON_LABEL, "reason").split())
    if not why:
        raise ValidationError(REASON_LABEL, "укажите, почему возвращаются деньги", field="reason")
    if len(why) > 500:
        raise ValidationError(REASON_LABEL, "не длиннее 500 символов", field="reason")
    with app.uow(write=False) as uow:
        payment = uow.session.get(Payment, int(payment_id))
        if payment is None:
            raise state.PaymentNotFound()
        unknown = state.status_of(payment) in UNDECIDED
    if unknown:
        _settle_unknown_first(app, payment.id)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        payment = state.lock_payment(s, payment_id)
        status = state.status_of(payment)
        if status not in REFUNDABLE:
            raise NotRefundable(status_label(status))
        available = refundable(s, payment)
        amount = parse_payment_amount(amount_text, maximum=Money(10**15), minimum=Money(1),
                                      label=AMOUNT_LABEL)
        if amount.kopecks > available:
            raise ValidationError(AMOUNT_LABEL, f"не больше {Money(max(available, 0)).format()} "
                                  "(оплачено минус уже возвращённое)", field="amount")
        four_eyes = amount.kopecks > app.settings.refund_approval_kopecks
        row = Refund(payment_id=payment.id, idempotency_key=f"refund-{uuid.uuid4().hex}",
                     amount=amount.kopecks, reason=why,
                     status=first_status(four_eyes).value,
                     requested_by_staff_id=actor.staff_id, created_at=now)
        s.add(row)
        s.flush()
        if four_eyes:
            audit.record(s, at=now, action="payment.refund_request", actor=actor,
                         customer_id=payment.customer_id, reason=why,
                         after={"payment_id": payment.id, "refund_id": row.id,
                                "amount": row.amount})
            uow.commit()
            return RefundResult(row.id, amount, status, Money(payment.refunded_amount),
                                awaiting_approval=True)
        refund_id, txn = row.id, payment.gateway_txn_id or ""
        request = g.RefundRequest(gateway_txn_id=txn, amount_kopecks=amount.kopecks,
                                  idempotency_key=row.idempotency_key)
        uow.commit()
    return _send(app, refund_id, request, actor)


def _awaiting(s: Session, refund_id: int) -> tuple[Refund, Payment]:
    try:
        row = s.scalar(select(Refund).where(Refund.id == int(refund_id)).with_for_update())
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFound("Возврат не найден")
    if row.status != RefundStatus.AWAITING_APPROVAL.value:
        raise ApprovalError("Этот возврат уже не ждёт подтверждения")
    return row, state.lock_payment(s, row.payment_id)


def approve(app: App, actor: StaffActor, refund_id: int) -> RefundResult:
    """The second finance user approves a refund above the threshold: it goes out now."""
    require_role(actor, REFUNDERS, "Подтверждение возврата")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        row, payment = _awaiting(s, refund_id)
        if row.requested_by_staff_id == actor.staff_id:
            raise ApprovalError("Подтвердить возврат должен другой сотрудник: "
                                "вы его оформили")
        if state.status_of(payment) not in REFUNDABLE:
            raise NotRefundable(status_label(state.status_of(payment)))
        if row.amount > refundable(s, payment, but=row.id):
            raise ValidationError(AMOUNT_LABEL, "больше, чем осталось вернуть", field="amount")
        row.status = transition(row.status, RefundEvent.APPROVED).value
        row.approved_by_staff_id = actor.staff_id
        audit.record(s, at=now, action="payment.refund_approve", actor=actor,
                     customer_id=payment.customer_id, reason=row.reason,
                     after={"payment_id": payment.id, "refund_id": row.id,
                            "amount": row.amount})
        request = g.RefundRequest(gateway_txn_id=payment.gateway_txn_id or "",
                                  amount_kopecks=row.amount,
                                  idempotency_key=row.idempotency_key)
        uow.commit()
    return _send(app, row.id, request, actor)


def reject(app: App, actor: StaffActor, refund_id: int, comment: str) -> None:
    """The second finance user refuses a refund above the threshold (a comment is due)."""
    require_role(actor, REFUNDERS, "Отклонение возврата")
    why = " ".join(refuse_control_characters(comment, "Комментарий", "comment").split())
    if not why:
        raise ValidationError("Комментарий", "укажите, почему возврат отклонён",
                              field="comment")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        row, payment = _awaiting(s, refund_id)
        row.status = transition(row.status, RefundEvent.REJECTED).value
        row.completed_at = now
        row.approved_by_staff_id, row.review_comment = actor.staff_id, why[:500]
        audit.record(s, at=now, action="payment.refund_reject", actor=actor,
                     customer_id=payment.customer_id, reason=why,
                     after={"payment_id": payment.id, "refund_id": row.id,
                            "amount": row.amount})
        uow.commit()


def _settle_unknown_first(app: App, payment_id: int) -> None:
    from core.payments import recovery

    recovery.resolve(app, payment_id, state.SYSTEM)
    with app.uow(write=False) as uow:
        payment = uow.session.get(Payment, payment_id)
        assert payment is not None
        if state.status_of(payment) in UNDECIDED:
            raise state.OutcomeUnknown(payment_id)


def _send(app: App, refund_id: int, request: g.RefundRequest,
          actor: StaffActor | None) -> RefundResult:
    try:
        answer = app.acquirer().refund(request)
    except g.GatewayTimeout:
        raise RefundPending() from None
    except g.GatewayUnavailable:
        _decline(app, refund_id)
        raise state.GatewayDown() from None
    if answer.status is not g.RefundStatus.SUCCEEDED:
        _decline(app, refund_id)
        raise RefundDeclined(answer.decline_message_ru or g.decline_message(
            answer.decline_code or ""))
    return _record_success(app, refund_id, answer, actor)


def _decline(app: App, refund_id: int) -> None:
    """The bank refused or could not be reached: the refund is closed as declined, unless a
    parallel repeat has settled it meanwhile (its answer stands)."""
    with app.uow() as uow:
        row = uow.session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
        assert row is not None
        if row.status == RefundStatus.REQUESTED.value:
            row.status = transition(row.status, RefundEvent.BANK_DECLINED).value
            row.completed_at, row.gateway_refund_id = app.now(), None
        uow.commit()


def _record_success(app: App, refund_id: int, answer: g.RefundResponse,
                    actor: StaffActor | None) -> RefundResult:
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        row = s.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
        assert row is not None
        payment = state.lock_payment(s, row.payment_id)
        if row.status == RefundStatus.SUCCEEDED.value:  # recorded by a parallel retry
            return RefundResult(row.id, Money(row.amount), state.status_of(payment),
                                Money(payment.refunded_amount))
        row.status = transition(row.status, RefundEvent.BANK_SUCCEEDED).value
        row.completed_at, row.gateway_refund_id, row.rrn = now, answer.refund_id, answer.rrn
        payment.refunded_amount += row.amount
        event = (PaymentEvent.REFUND_FULL if payment.refunded_amount >= payment.amount
                 else PaymentEvent.REFUND_PARTIAL)
        who = state.staff(actor.staff_id) if actor else state.SYSTEM
        state.apply(s, payment, event, now=now, actor=who,
                    details={"refund_id": row.id, "amount": row.amount, "reason": row.reason})
        ledger.post_refund(s, payment_id=payment.id, refund_id=row.id,
                           provider_id=payment.provider_id, amount=row.amount, at=now)
        rollups.payment_refunded(s, payment, row.amount)
        if payment.invoice_id is not None:
            invoices.revert_payment(s, payment.invoice_id, row.amount)
        audit.record(s, at=now, action="payment.refund", actor=actor,
                     customer_id=payment.customer_id, reason=row.reason,
                     before={"payment_id": payment.id},
                     after={"refund_id": row.id, "amount": row.amount,
                            "status": payment.status})
        result = RefundResult(row.id, Money(row.amount), state.status_of(payment),
                              Money(payment.refunded_amount))
        uow.commit()
    return result


# A refund being repeated is not due for other workers this long (refunds.next_attempt_at
# holds the lease): the gateway deduplicates by the key, but a second worker would still
# ask it the same thing twice.
RETRY_LEASE = timedelta(minutes=2)


def retry_requested(app: App, *, older_than_minutes: int = 2, limit: int = 100) -> int:
    """Recovery of refunds whose answer was lost: repeat them with the same key. Each is
    claimed first (SKIP LOCKED on PostgreSQL), so several workers share them."""
    now = app.now()
    cutoff = now - timedelta(minutes=older_than_minutes)
    with app.uow() as uow:
        claims = leases.claim(uow.session, select(Refund.id, Refund.next_attempt_at).where(
            Refund.status == RefundStatus.REQUESTED.value, Refund.created_at <= cutoff,
            or_(Refund.next_attempt_at.is_(None), Refund.next_attempt_at <= now))
            .order_by(Refund.id).limit(limit), Refund.next_attempt_at, now=now,
            lease=RETRY_LEASE)
        rows = {refund_id: (amount, key, txn) for refund_id, amount, key, txn in uow.session.execute(
            select(Refund.id, Refund.amount, Refund.idempotency_key, Payment.gateway_txn_id)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.id.in_([c.id for c in claims])))} if claims else {}
        uow.commit()
    settled = 0
    for held in claims:
        if leases.still_held(app.uow, Refund.next_attempt_at, held, app.now()) is None:
            continue  # our lease ran out and another worker repeats it now
        amount, key, txn = rows[held.id]
        try:
            _send(app, held.id, g.RefundRequest(txn or "", amount, key), None)
            settled += 1
        except (RefundPending, state.GatewayDown, RefundDeclined):
            continue
    return settled
