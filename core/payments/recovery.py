"""Settling payments whose outcome is unknown, and lapsing stale ones.

A payment needs looking at when its ``next_check_at`` has passed while it is
still created, awaiting its password, or pending:

* created, the card never sent: the payer left — it lapses (``abandoned``);
* created, the card sent but no answer recorded (a crash or a lost
  authorisation): no money can have moved, since only a confirmation with the
  password charges, and we never sent one — declined after being marked pending;
* awaiting the password, the password unused and expired: it expires;
* awaiting the password with the password used (a confirmation whose answer we
  never recorded), or pending: only the gateway can tell — ``status()`` is asked,
  and if it cannot tell either the payment is asked about again on the schedule
  of ``payment_state.RECHECK_SCHEDULE`` and, when that is used up, flagged for
  manual review.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from core.actors import StaffActor, require_role
from core.app import App
from core.db.models import Payment
from core.payments import gateway as g, receipts, state
from core.payments.machine import UNDECIDED, PaymentEvent, PaymentStatus
from core.staff import audit, permissions

log = logging.getLogger(__name__)

ASKERS = permissions.MONEY_MOVERS


@dataclass(frozen=True)
class RecoveryReport:
    checked: int
    outcomes: dict[str, int]  # final status (or "rescheduled", "manual_review") -> count

    def __str__(self) -> str:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes.items()))
        return f"checked {self.checked}" + (f" ({parts})" if parts else "")


def _due(app: App, statuses: set[PaymentStatus], limit: int) -> list[int]:
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(
            select(Payment.id).where(Payment.status.in_([x.value for x in statuses]),
                                     Payment.next_check_at <= app.now(),
                                     Payment.manual_review.is_(False))
            .order_by(Payment.next_check_at, Payment.id).limit(limit)))


def recover_due(app: App, *, limit: int = 500) -> RecoveryReport:
    """``python -m core payments recover`` and the worker: every payment due a check."""
    ids = _due(app, set(UNDECIDED), limit)
    outcomes = Counter(resolve(app, payment_id, state.SYSTEM) for payment_id in ids)
    return RecoveryReport(len(ids), dict(outcomes))


def expire_stale(app: App, *, limit: int = 500) -> RecoveryReport:
    """The worker's expiry job: created payments left without a card and passwords
    that ran out (no gateway call is needed for either)."""
    ids = _due(app, {PaymentStatus.CREATED, PaymentStatus.AWAITING_OTP}, limit)
    outcomes: Counter[str] = Counter()
    for payment_id in ids:
        outcomes[_settle_locally(app, payment_id) or "left for recovery"] += 1
    return RecoveryReport(len(ids), dict(outcomes))


def _settle_locally(app: App, payment_id: int) -> str | None:
    """What can be decided without the gateway; None when the gateway must be asked."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        payment = state.lock_payment(s, payment_id)
        status = state.status_of(payment)
        if status is PaymentStatus.PENDING:
            return None
        if status not in UNDECIDED or payment.next_check_at is None or (
                payment.next_check_at > now):
            return payment.status
        if status is PaymentStatus.CREATED:
            if not state.authorize_sent(s, payment.id):
                state.apply(s, payment, PaymentEvent.ABANDONED, now=now, actor=state.SYSTEM)
            elif payment.gateway_txn_id is None:
                # The authorisation's answer was lost: nothing can have been charged
                # without a confirmation, which we never sent.
                state.apply(s, payment, PaymentEvent.GATEWAY_TIMEOUT, now=now, actor=state.SYSTEM,
                            details={"step": "authorize", "found_by": "recovery"})
                state.fail(s, payment, PaymentEvent.STATUS_DECLINED, now=now, actor=state.SYSTEM,
                           code="authorization_lost",
                           reason="Авторизация не завершена, деньги не списаны")
            else:
                return None
        else:
            row = state.latest_otp(s, payment.id)
            if row is not None and row.used_at is not None:
                return None  # a confirmation went out: ask the gateway
            if row is not None and row.expires_at > now:
                payment.next_check_at = row.expires_at + state.IN_FLIGHT
                uow.commit()
                return "rescheduled"
            state.fail(s, payment, PaymentEvent.OTP_EXPIRED, now=now, actor=state.SYSTEM,
                       code="otp_expired", reason="Код подтверждения не введён вовремя")
        uow.commit()
        return payment.status


def resolve(app: App, payment_id: int, actor: state.EventActor) -> str:
    """Settle one payment if it can be settled now; returns what became of it."""
    local = _settle_locally(app, payment_id)
    if local is not None:
        return local
    with app.uow(write=False) as uow:
        payment = uow.session.get(Payment, payment_id)
        assert payment is not None
        txn, version = payment.gateway_txn_id, payment.version
        if state.status_of(payment) not in UNDECIDED:
            return payment.status
    answer: g.StatusResponse | None = None
    if txn is not None:
        try:
            answer = app.acquirer().status(txn)
        except (g.GatewayTimeout, g.GatewayUnavailable):
            answer = None
    else:
        answer = g.StatusResponse(g.TxnStatus.NOT_FOUND, "")
    outcome = _record_status(app, payment_id, version, answer, actor)
    if outcome == PaymentStatus.SUCCEEDED.value:
        receipts.fiscalise_for_payment(app, payment_id)
    return outcome


def _record_status(app: App, payment_id: int, version: int,
                   answer: g.StatusResponse | None, actor: state.EventActor) -> str:
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        payment = state.lock_payment(s, payment_id)
        if payment.version != version:
            return payment.status  # someone settled it meanwhile
        if answer is None or answer.status is g.TxnStatus.PENDING:
            outcome = "manual_review" if state.schedule_check(payment, now) else "rescheduled"
            if outcome == "manual_review":
                log.warning("payment %s: outcome still unknown, flagged for review", payment.id)
            uow.commit()
            return outcome
        if state.status_of(payment) is not PaymentStatus.PENDING:
            # A confirmation whose answer we never recorded: it is lost, by definition.
            state.apply(s, payment, PaymentEvent.GATEWAY_TIMEOUT, now=now, actor=state.SYSTEM,
                        details={"step": "confirm", "found_by": "recovery"})
        if answer.status is g.TxnStatus.SUCCEEDED:
            state.succeed(s, payment, PaymentEvent.STATUS_SUCCEEDED, now=now, actor=actor,
                          rrn=answer.rrn, auth_code=answer.auth_code)
        else:
            code = answer.decline_code or ("not_found" if answer.status is g.TxnStatus.NOT_FOUND
                                           else "declined")
            state.fail(s, payment, PaymentEvent.STATUS_DECLINED, now=now, actor=actor, code=code,
                       reason=g.decline_message(code) if code in g.DECLINE_MESSAGES
                       else "Банк подтвердил: деньги не списаны")
        uow.commit()
        return payment.status


def ask_gateway(app: App, actor: StaffActor, payment_id: int) -> str:
    """«Запросить статус у банка» on the Payments page (finance): ask now, whatever the
    schedule; recorded in the audit log. Returns the payment's status afterwards."""
    require_role(actor, ASKERS, "Запрос статуса платежа у банка")
    with app.uow() as uow:
        payment = state.lock_payment(uow.session, payment_id)
        before = payment.status
        if state.status_of(payment) in UNDECIDED:
            payment.next_check_at = app.now()  # due now
            payment.manual_review = False
        uow.commit()
    after = resolve(app, payment_id, state.staff(actor.staff_id))
    with app.uow() as uow:
        status = uow.session.scalar(select(Payment.status).where(Payment.id == payment_id))
        audit.record(uow.session, at=app.now(), action="payment.ask_gateway", actor=actor,
                     before={"payment_id": payment_id, "status": before},
                     after={"status": status, "outcome": after})
        uow.commit()
    return status or after
