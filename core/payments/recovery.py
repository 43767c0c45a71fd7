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
from datetime import datetime, timedelta

from sqlalchemy import select

from core.actors import StaffActor, require_role
from core.app import App
from core.db import leases
from core.db.models import Payment
from core.payments import gateway as g, receipts, state
from core.payments.machine import UNDECIDED, PaymentEvent, PaymentStatus
from core.staff import audit, permissions
from core.uow import UnitOfWork

log = logging.getLogger(__name__)

ASKERS = permissions.MONEY_MOVERS


@dataclass(frozen=True)
class RecoveryReport:
    checked: int
    outcomes: dict[str, int]  # final status (or "rescheduled", "manual_review") -> count

    def __str__(self) -> str:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes.items()))
        return f"checked {self.checked}" + (f" ({parts})" if parts else "")


# A payment whose gateway question is being asked is not due for other workers this long
# (its next_check_at is moved ahead: the lease); a worker that dies meanwhile leaves it
# due again when the lease runs out.
RECOVERY_LEASE = timedelta(minutes=2)
# Payments claimed per transaction: small batches spread the due payments over workers.
CLAIM_BATCH = 50


def _claim_due(app: App, statuses: set[PaymentStatus], size: int) -> list[leases.Claim]:
    """Up to ``size`` due payments, claimed (SKIP LOCKED on PostgreSQL): their
    ``next_check_at`` holds the lease until each is looked at."""
    with app.uow() as uow:
        now = app.now()
        claims = leases.claim(uow.session, select(Payment.id, Payment.next_check_at).where(
            Payment.status.in_([x.value for x in statuses]), Payment.next_check_at <= now,
            Payment.manual_review.is_(False))
            .order_by(Payment.next_check_at, Payment.id).limit(size),
            Payment.next_check_at, now=now, lease=RECOVERY_LEASE)
        uow.commit()
    return claims


def _claimed_batches(app: App, statuses: set[PaymentStatus], limit: int):  # type: ignore[no-untyped-def]
    taken = 0
    while taken < limit:
        batch = _claim_due(app, statuses, min(CLAIM_BATCH, limit - taken))
        if not batch:
            return
        taken += len(batch)
        yield from batch


def recover_due(app: App, *, limit: int = 500) -> RecoveryReport:
    """``python -m core payments recover`` and the worker: every payment due a check.
    Several workers share the due payments: each is claimed by one of them."""
    outcomes: Counter[str] = Counter()
    for held in _claimed_batches(app, set(UNDECIDED), limit):
        outcomes[_resolve(app, held.id, state.SYSTEM, held)] += 1
    return RecoveryReport(sum(outcomes.values()), dict(outcomes))


def expire_stale(app: App, *, limit: int = 500) -> RecoveryReport:
    """The worker's expiry job: created payments left without a card and passwords
    that ran out (no gateway call is needed for either)."""
    outcomes: Counter[str] = Counter()
    for held in _claimed_batches(app, {PaymentStatus.CREATED, PaymentStatus.AWAITING_OTP},
                                 limit):
        outcomes[_settle_locally(app, held.id, held) or "left for recovery"] += 1
    return RecoveryReport(sum(outcomes.values()), dict(outcomes))


def _settle_locally(app: App, payment_id: int, held: leases.Claim | None = None, *,
                    ask: bool = False) -> str | None:
    """What can be decided without the gateway; None when the gateway must be asked.

    ``held``: the payment as claimed by this worker; if its ``next_check_at`` is no
    longer the claim's lease, someone acted on it meanwhile and it is left alone. With
    ``ask`` (the caller asks the gateway next), a None leaves the payment leased to this
    caller, so that no other worker asks the same question meanwhile; without, it is
    due again at once (the expiry job leaves it to recovery)."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        payment = state.lock_payment(s, payment_id)
        if held is not None:
            if payment.next_check_at != held.until:
                return payment.status  # settled, rescheduled or taken since the claim
            payment.next_check_at = held.due_at  # decided as it was due
        status = state.status_of(payment)
        if status is PaymentStatus.PENDING:
            return _to_gateway(uow, payment, held, now, ask=ask)
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
                return _to_gateway(uow, payment, held, now, ask=ask)
        else:
            row = state.latest_otp(s, payment.id)
            if row is not None and row.used_at is not None:
                return _to_gateway(uow, payment, held, now, ask=ask)  # a confirmation went out
            if row is not None and row.expires_at > now:
                payment.next_check_at = row.expires_at + state.IN_FLIGHT
                uow.commit()
                return "rescheduled"
            state.fail(s, payment, PaymentEvent.OTP_EXPIRED, now=now, actor=state.SYSTEM,
                       code="otp_expired", reason="Код подтверждения не введён вовремя")
        uow.commit()
        return payment.status


def _to_gateway(uow: UnitOfWork, payment: Payment, held: leases.Claim | None, now: datetime,
                *, ask: bool) -> None:
    """The payment needs the gateway's word: leased to the asker, or due again."""
    if ask:
        if held is not None and not held.half_spent(now):
            return None  # the claim's lease, still fresh, stays as committed
        payment.next_check_at = now + RECOVERY_LEASE
        uow.commit()
    elif held is not None:
        uow.commit()  # due again as it was, for the recovery job
    return None


def resolve(app: App, payment_id: int, actor: state.EventActor) -> str:
    """Settle one payment if it can be settled now; returns what became of it."""
    return _resolve(app, payment_id, actor, None)


def _resolve(app: App, payment_id: int, actor: state.EventActor,
             held: leases.Claim | None) -> str:
    local = _settle_locally(app, payment_id, held, ask=True)
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
    outcome, settled_here = _record_status(app, payment_id, version, answer, actor)
    if settled_here and outcome == PaymentStatus.SUCCEEDED.value:
        # Only by whoever recorded the success: a second caller that found it settled
        # must not ask a register of its own for a second fiscal document.
        receipts.fiscalise_for_payment(app, payment_id)
    return outcome


def _record_status(app: App, payment_id: int, version: int,
                   answer: g.StatusResponse | None, actor: state.EventActor
                   ) -> tuple[str, bool]:
    """(what became of the payment, whether this call recorded its outcome)."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        payment = state.lock_payment(s, payment_id)
        if payment.version != version:
            return payment.status, False  # someone settled it meanwhile
        if answer is None or answer.status is g.TxnStatus.PENDING:
            outcome = "manual_review" if state.schedule_check(payment, now) else "rescheduled"
            if outcome == "manual_review":
                log.warning("payment %s: outcome still unknown, flagged for review", payment.id)
            uow.commit()
            return outcome, False
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
        return payment.status, True


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
