"""Moving a payment from one status to the next, with everything that goes with it.

Every change of a payment goes through :func:`apply`: the machine's table says
whether the event is allowed, the event row is written in the same transaction,
and a success posts the ledger journal, settles the invoice and writes the
receipt — so money, invoice and history never disagree. Callers hold the
payment's row lock (:func:`lock_payment`) while they apply.

Gateway calls never happen inside a transaction: a write transaction records
the attempt and commits (marking the payment «in flight» with ``next_check_at``
a little ahead), the call goes out, a second transaction records the answer.
A crash in between leaves a payment whose ``next_check_at`` passes, and the
recovery job asks the gateway what happened.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.actors import ActorKind
from core.db.models import Customer, Payment, PaymentEventRecord, PaymentOtp, Provider, Receipt
from core.errors import DomainError, NotFound
from core.finance import ledger
from core.payments.machine import (
    FINAL, PaymentEvent, PaymentStatus, transition,
)
from core.billing import invoices
from core.analytics import rollups

# A gateway call in flight: if nothing is recorded within this time, the call's
# answer was lost (crash) and recovery asks the gateway.
IN_FLIGHT = timedelta(minutes=2)
# A created payment whose payer never sent a card lapses after this.
ABANDON_AFTER = timedelta(minutes=15)
# When an unknown outcome is asked about again: after 5 minutes, an hour, then
# daily; when these are used up a person must look at the payment.
RECHECK_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=5), timedelta(hours=1), timedelta(days=1), timedelta(days=1),
    timedelta(days=1))



@dataclass(frozen=True)
class EventActor:
    """Who caused a payment event: the payer, a staff member, or the service itself."""

    kind: ActorKind
    staff_id: int | None = None


CUSTOMER = EventActor(ActorKind.CUSTOMER)
SYSTEM = EventActor(ActorKind.SYSTEM)


def staff(staff_id: int) -> EventActor:
    return EventActor(ActorKind.STAFF, staff_id)


# --- errors ------------------------------------------------------------------

class PaymentError(DomainError):
    code = "payment_error"


class PaymentNotFound(NotFound):
    code = "payment_not_found"

    def __init__(self) -> None:
        super().__init__("Платёж не найден")


class PaymentInProgress(PaymentError):
    code = "payment_in_progress"

    def __init__(self) -> None:
        super().__init__("Платёж уже обрабатывается банком: дождитесь результата")


class OutcomeUnknown(PaymentError):
    """The gateway's answer is lost and asking it again did not tell."""

    code = "payment_outcome_unknown"

    def __init__(self, payment_id: int) -> None:
        super().__init__(
            f"Результат платежа № {payment_id} ещё не известен: банк не ответил. "
            "Действие невозможно, пока банк не подтвердит результат; повторите позже")


class GatewayDown(PaymentError):
    code = "gateway_unavailable"

    def __init__(self) -> None:
        super().__init__("Банк временно недоступен, повторите попытку через несколько минут")


# --- reading and locking -------------------------------------------------------

# Built once: a statement built per call costs more Python than its round trip.
_LOCK = (select(Payment).where(Payment.id == bindparam("payment_id")).with_for_update()
         .execution_options(populate_existing=True))
_LOCK_WITH_PARTIES = (
    select(Payment, Provider, Customer)
    .join(Provider, Provider.id == Payment.provider_id)
    .outerjoin(Customer, Customer.id == Payment.customer_id)
    .where(Payment.id == bindparam("payment_id")).with_for_update(of=Payment)
    .execution_options(populate_existing=True))
_LATEST_OTP = (select(PaymentOtp).where(PaymentOtp.payment_id == bindparam("payment_id"))
               .order_by(PaymentOtp.id.desc()).limit(1))
_AUTHORIZE_SENT = (select(PaymentEventRecord.id)
                   .where(PaymentEventRecord.payment_id == bindparam("payment_id"),
                          PaymentEventRecord.event == PaymentEvent.AUTHORIZE_SENT.value)
                   .limit(1))


def lock_payment(session: Session, payment_id: int, *, with_parties: bool = False) -> Payment:
    """The payment's row, locked for this transaction (FOR UPDATE on PostgreSQL; on
    SQLite the write transaction's BEGIN IMMEDIATE already serialises writers).

    ``with_parties`` loads its provider and customer in the same statement (only the
    payment's row is locked) for callers that show, send or notify: one round trip, and
    ``session.get`` finds them afterwards."""
    try:
        key = int(payment_id)
    except (TypeError, ValueError):
        raise PaymentNotFound() from None
    if with_parties:
        found = session.execute(_LOCK_WITH_PARTIES, {"payment_id": key}).first()
        payment = found[0] if found is not None else None
        if found is not None:
            # The session's identity map holds clean objects weakly: kept here, the
            # provider and customer are there for session.get until the session ends.
            session.info.setdefault("loaded", []).extend(found[1:])
    else:
        payment = session.scalar(_LOCK, {"payment_id": key})
    if payment is None:
        raise PaymentNotFound()
    return payment


def status_of(payment: Payment) -> PaymentStatus:
    return PaymentStatus(payment.status)


def latest_otp(session: Session, payment_id: int) -> PaymentOtp | None:
    return session.scalar(_LATEST_OTP, {"payment_id": payment_id})


def authorize_sent(session: Session, payment_id: int) -> bool:
    """Whether the card was ever sent to the gateway for this payment."""
    return session.scalar(_AUTHORIZE_SENT, {"payment_id": payment_id}) is not None


# --- writing -------------------------------------------------------------------

# Events are append-only and never read back in the transaction that writes them: a
# plain INSERT, not an ORM object the session would track and flush.
_EVENT_INSERT = PaymentEventRecord.__table__.insert()


def _event(session: Session, payment_id: int, at: datetime, event: PaymentEvent,
           before: str | None, after: str, actor: EventActor,
           details: dict[str, Any] | None) -> None:
    # The row needs nothing pending in the session (its payment has its id), so no
    # autoflush: the payment's own changes go out in one UPDATE, not one per event.
    with session.no_autoflush:
        session.execute(_EVENT_INSERT, {
            "payment_id": payment_id, "at": at, "event": event.value,
            "from_status": before, "to_status": after, "actor_kind": actor.kind,
            "staff_id": actor.staff_id, "details": details})


def record_creation(session: Session, payment: Payment, actor: EventActor,
                    details: dict[str, Any] | None = None) -> None:
    _event(session, payment.id, payment.created_at, PaymentEvent.CREATE, None, payment.status,
           actor, details)


def apply(session: Session, payment: Payment, event: PaymentEvent, *, now: datetime,
          actor: EventActor, details: dict[str, Any] | None = None) -> PaymentStatus:
    """Move the payment by ``event`` (IllegalTransition if the table forbids it) and
    write the event row. The caller holds the row lock and commits."""
    before = status_of(payment)
    after = transition(before, event)
    _event(session, payment.id, now, event, before.value, after.value, actor, details or None)
    payment.status = after.value
    payment.updated_at = now
    payment.version += 1
    if after in FINAL or after is PaymentStatus.SUCCEEDED:
        payment.finalized_at = payment.finalized_at or now
        payment.next_check_at = None
        payment.manual_review = False
    return after


def succeed(session: Session, payment: Payment, event: PaymentEvent, *, now: datetime,
            actor: EventActor, rrn: str | None, auth_code: str | None,
            details: dict[str, Any] | None = None) -> Receipt:
    """The card was charged: status, ledger journal, the invoice's paid amount and the
    receipt, in the caller's transaction. Returns the (not yet fiscalised) receipt."""
    apply(session, payment, event, now=now, actor=actor,
          details={**(details or {}), "rrn": rrn, "auth_code": auth_code})
    payment.rrn, payment.auth_code = rrn, auth_code
    ledger.post_payment(session, payment_id=payment.id, provider_id=payment.provider_id,
                        amount=payment.amount, commission=payment.commission, at=now)
    rollups.payment_finalised(session, payment)
    # Added before the invoice is read for its lock: that read's autoflush then writes the
    # payment and its receipt together (one flush fewer).
    # Due for the worker only after IN_FLIGHT: until then the receipt is this process's to
    # register (right after the commit), and a worker's register must not sign it too.
    receipt = Receipt(payment_id=payment.id, operation="income", created_at=now,
                      sent_to=None, fiscal_attempts=0, next_attempt_at=now + IN_FLIGHT)
    session.add(receipt)
    if payment.invoice_id is not None:
        invoices.apply_payment(session, payment.invoice_id, payment.amount)
    session.flush()
    return receipt


def fail(session: Session, payment: Payment, event: PaymentEvent, *, now: datetime,
         actor: EventActor, code: str | None, reason: str | None,
         details: dict[str, Any] | None = None) -> PaymentStatus:
    """A final refusal (declined, failed, expired): nothing was charged."""
    after = apply(session, payment, event, now=now, actor=actor,
                  details={**(details or {}), **({"code": code} if code else {}),
                           **({"reason": reason} if reason else {})})
    payment.decline_code = (code or None) and code[:30]
    payment.decline_reason = (reason or None) and reason[:200]
    rollups.payment_finalised(session, payment)
    return after


def schedule_check(payment: Payment, now: datetime) -> bool:
    """After a check that could not tell: when to ask again. Returns True when the
    schedule is used up and the payment is flagged for a person to review."""
    # The first check was scheduled RECHECK_SCHEDULE[0] after the answer was lost.
    attempt = payment.check_attempts + 1
    payment.check_attempts = attempt
    if attempt >= len(RECHECK_SCHEDULE):
        payment.manual_review = True
        payment.next_check_at = None
        return True
    payment.next_check_at = now + RECHECK_SCHEDULE[attempt]
    return False


def first_check(payment: Payment, now: datetime) -> None:
    """The gateway's answer was just lost: ask it again after the first interval."""
    payment.check_attempts = 0
    payment.next_check_at = now + RECHECK_SCHEDULE[0]
