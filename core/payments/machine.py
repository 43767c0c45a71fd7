"""The payment state machine: every allowed move is a row of ``TRANSITIONS``.

Shape taken from Kill Bill's ``PaymentStates.xml``: ``(state, event) -> next state``
is data, and one function, :func:`transition`, applies it and refuses anything
else. No other module decides a payment's next status with ``if``/``elif``:
services record the event and ask this table.
"""
from __future__ import annotations

from enum import Enum

from core.errors import DomainError


class PaymentStatus(str, Enum):
    """Where a payment stands. Stored by value; the values never change."""

    CREATED = "created"
    """Written before anything goes to the gateway (the attempt is recorded first)."""

    AWAITING_OTP = "awaiting_otp"
    """The gateway accepted the card and sent a one-time password by SMS; waiting for it."""

    PENDING = "pending"
    """The gateway's answer was lost (time-out, crash): whether money moved is unknown.
    Only a status query to the gateway resolves it; nothing else may act on the payment."""

    SUCCEEDED = "succeeded"
    """The customer was charged. Final for the payment itself; refunds may still follow."""

    DECLINED = "declined"
    """A business refusal: the bank declined the card, or the one-time password was
    entered wrong too many times. No money moved."""

    FAILED = "failed"
    """The gateway reported a processing error: no money moved, the customer may retry."""

    EXPIRED = "expired"
    """The one-time password was not entered in time. No money moved."""

    PARTIALLY_REFUNDED = "partially_refunded"
    """Succeeded, then part of the amount was returned; more refunds are possible."""

    REFUNDED = "refunded"
    """Succeeded, then the whole amount was returned. Nothing more can happen."""


class PaymentEvent(str, Enum):
    """What happened to a payment: our own actions and the gateway's answers."""

    CREATE = "create"
    """The payment was written (its first timeline row; no transition leads to it)."""

    AUTHORIZE_SENT = "authorize_sent"
    """We are about to send the card to the gateway (recorded before the call goes out)."""

    OTP_REQUIRED = "otp_required"
    """The gateway accepted the card and asked for the one-time password."""

    GATEWAY_DECLINED = "gateway_declined"
    """The gateway declined (insufficient funds, wrong CVV, expired card, ...)."""

    GATEWAY_ERROR = "gateway_error"
    """The gateway answered with a processing error: it did not charge."""

    GATEWAY_TIMEOUT = "gateway_timeout"
    """No answer: the gateway may or may not have charged."""

    OTP_CONFIRMED = "otp_confirmed"
    """The right one-time password was entered and the gateway confirmed the charge."""

    OTP_REJECTED_FINAL = "otp_rejected_final"
    """The last allowed wrong one-time password was entered."""

    OTP_EXPIRED = "otp_expired"
    """The one-time password's lifetime ran out before it was entered."""

    STATUS_SUCCEEDED = "status_succeeded"
    """A status query found that the gateway did charge."""

    STATUS_DECLINED = "status_declined"
    """A status query found that the gateway did not charge."""

    ABANDONED = "abandoned"
    """The payer never sent a card for the created payment: it lapses (nothing was asked
    of the gateway, nothing can have been charged)."""

    REFUND_PARTIAL = "refund_partial"
    """Part of the paid amount was returned (something is still left to refund)."""

    REFUND_FULL = "refund_full"
    """What was left of the paid amount was returned."""


S, E = PaymentStatus, PaymentEvent

TRANSITIONS: dict[tuple[PaymentStatus, PaymentEvent], PaymentStatus] = {
    # The attempt is recorded before the call; the status stays «created» so that
    # a crash right after it leaves a payment recovery knows it must ask about.
    (S.CREATED, E.AUTHORIZE_SENT): S.CREATED,
    (S.CREATED, E.OTP_REQUIRED): S.AWAITING_OTP,
    (S.CREATED, E.GATEWAY_DECLINED): S.DECLINED,
    (S.CREATED, E.GATEWAY_ERROR): S.FAILED,
    (S.CREATED, E.GATEWAY_TIMEOUT): S.PENDING,
    (S.CREATED, E.ABANDONED): S.EXPIRED,
    (S.AWAITING_OTP, E.OTP_CONFIRMED): S.SUCCEEDED,
    (S.AWAITING_OTP, E.OTP_REJECTED_FINAL): S.DECLINED,
    (S.AWAITING_OTP, E.OTP_EXPIRED): S.EXPIRED,
    (S.AWAITING_OTP, E.GATEWAY_DECLINED): S.DECLINED,
    (S.AWAITING_OTP, E.GATEWAY_ERROR): S.FAILED,
    (S.AWAITING_OTP, E.GATEWAY_TIMEOUT): S.PENDING,
    # Only the gateway can tell what happened to a lost answer.
    (S.PENDING, E.STATUS_SUCCEEDED): S.SUCCEEDED,
    (S.PENDING, E.STATUS_DECLINED): S.DECLINED,
    (S.SUCCEEDED, E.REFUND_PARTIAL): S.PARTIALLY_REFUNDED,
    (S.SUCCEEDED, E.REFUND_FULL): S.REFUNDED,
    (S.PARTIALLY_REFUNDED, E.REFUND_PARTIAL): S.PARTIALLY_REFUNDED,
    (S.PARTIALLY_REFUNDED, E.REFUND_FULL): S.REFUNDED,
}

# Nothing can ever happen to these again.
FINAL: frozenset[PaymentStatus] = frozenset(
    {S.DECLINED, S.FAILED, S.EXPIRED, S.REFUNDED}
)
# Money was taken and not all of it returned yet.
REFUNDABLE: frozenset[PaymentStatus] = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED})
REFUND_EVENTS: frozenset[PaymentEvent] = frozenset({E.REFUND_PARTIAL, E.REFUND_FULL})
# Money was charged (some or all of it may have been returned since): what the ledger, payouts,
# reconciliation and analytics count as paid.
CHARGED: frozenset[PaymentStatus] = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED})
# The outcome is not known yet: the payer may still act, or only the gateway can tell.
UNDECIDED: frozenset[PaymentStatus] = frozenset({S.CREATED, S.AWAITING_OTP, S.PENDING})
# Waiting for the payer (card data, the one-time password); for too long means stuck.
AWAITING_PAYER: frozenset[PaymentStatus] = frozenset({S.CREATED, S.AWAITING_OTP})


def values(statuses: frozenset[PaymentStatus]) -> tuple[str, ...]:
    """The stored values of a status set, in a stable order (for SQL ``IN`` and arrays)."""
    return tuple(sorted(s.value for s in statuses))

STATUS_LABELS: dict[PaymentStatus, str] = {
    S.CREATED: "Создан",
    S.AWAITING_OTP: "Ожидает пароль из SMS",
    S.PENDING: "Результат уточняется",
    S.SUCCEEDED: "Оплачен",
    S.DECLINED: "Отклонён",
    S.FAILED: "Ошибка",
    S.EXPIRED: "Истёк срок подтверждения",
    S.PARTIALLY_REFUNDED: "Частично возвращён",
    S.REFUNDED: "Возвращён",
}

EVENT_LABELS: dict[PaymentEvent, str] = {
    E.CREATE: "платёж создан",
    E.AUTHORIZE_SENT: "запрос авторизации",
    E.OTP_REQUIRED: "запрос одноразового пароля",
    E.GATEWAY_DECLINED: "отказ банка",
    E.GATEWAY_ERROR: "ошибка шлюза",
    E.GATEWAY_TIMEOUT: "нет ответа шлюза",
    E.OTP_CONFIRMED: "подтверждение паролем",
    E.OTP_REJECTED_FINAL: "неверный пароль (последняя попытка)",
    E.OTP_EXPIRED: "истечение срока пароля",
    E.STATUS_SUCCEEDED: "уточнение статуса: оплачен",
    E.STATUS_DECLINED: "уточнение статуса: не оплачен",
    E.ABANDONED: "данные карты не введены вовремя",
    E.REFUND_PARTIAL: "частичный возврат",
    E.REFUND_FULL: "полный возврат",
}


class IllegalTransition(DomainError):
    """An event that the table does not allow in the payment's current status."""

    code = "illegal_transition"

    def __init__(self, status: PaymentStatus, event: PaymentEvent) -> None:
        super().__init__(
            f"Платёж: действие «{EVENT_LABELS[event]}» недопустимо "
            f"в статусе «{STATUS_LABELS[status]}» ({status.value} -> {event.value})"
        )
        self.status = status
        self.event = event


def transition(status: PaymentStatus, event: PaymentEvent) -> PaymentStatus:
    """The status after ``event``; raises :class:`IllegalTransition` if it is not allowed."""
    status, event = PaymentStatus(status), PaymentEvent(event)
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(status, event) from None


def allowed_events(status: PaymentStatus) -> frozenset[PaymentEvent]:
    """What may happen next (for UIs: which buttons to show)."""
    return frozenset(e for (s, e) in TRANSITIONS if s == status)


def status_label(status: str | PaymentStatus) -> str:
    """The Russian name of a status; an unknown stored value is shown as it is."""
    try:
        return STATUS_LABELS[PaymentStatus(status)]
    except ValueError:
        return str(status)


def event_label(event: str | PaymentEvent) -> str:
    """The Russian name of an event; an unknown stored value is shown as it is."""
    try:
        return EVENT_LABELS[PaymentEvent(event)]
    except ValueError:
        return str(event)


def is_final(status: PaymentStatus) -> bool:
    """True when nothing can happen to the payment any more (succeeded is not: refunds)."""
    return PaymentStatus(status) in FINAL
