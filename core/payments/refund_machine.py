"""The refund state machine: every allowed move of a refund is a row of ``TRANSITIONS``.

A refund starts ``awaiting_approval`` (above the four-eyes threshold) or ``requested`` (sent to
the bank); a second person approves or rejects the first, the bank's answer settles the second.
"""
from __future__ import annotations

from enum import Enum

from core.errors import DomainError


class RefundStatus(str, Enum):
    AWAITING_APPROVAL = "awaiting_approval"  # four-eyes: held back, nothing sent yet
    REQUESTED = "requested"  # recorded and sent; the bank's answer is not recorded yet
    SUCCEEDED = "succeeded"  # the bank returned the money
    DECLINED = "declined"  # the bank refused, or could not be reached
    REJECTED = "rejected"  # the second person refused it


class RefundEvent(str, Enum):
    APPROVED = "approved"  # the second person approved: it goes to the bank
    REJECTED = "rejected"  # the second person refused, with a comment
    BANK_SUCCEEDED = "bank_succeeded"
    BANK_DECLINED = "bank_declined"


R, E = RefundStatus, RefundEvent

TRANSITIONS: dict[tuple[RefundStatus, RefundEvent], RefundStatus] = {
    (R.AWAITING_APPROVAL, E.APPROVED): R.REQUESTED,
    (R.AWAITING_APPROVAL, E.REJECTED): R.REJECTED,
    (R.REQUESTED, E.BANK_SUCCEEDED): R.SUCCEEDED,
    (R.REQUESTED, E.BANK_DECLINED): R.DECLINED,
    # A repeat with the same idempotency key may still find that the bank did return the
    # money after an earlier attempt was closed as declined: the bank's word wins.
    (R.DECLINED, E.BANK_SUCCEEDED): R.SUCCEEDED,
}

# Refunds that hold money back: nobody may refund it twice meanwhile.
HOLDING: frozenset[RefundStatus] = frozenset({R.AWAITING_APPROVAL, R.REQUESTED})
# Nothing more is expected of these (a declined one only takes the bank's late success).
FINAL: frozenset[RefundStatus] = frozenset({R.SUCCEEDED, R.DECLINED, R.REJECTED})

STATUS_LABELS: dict[RefundStatus, str] = {
    R.AWAITING_APPROVAL: "Ждёт второго подтверждения",
    R.REQUESTED: "Отправлен в банк",
    R.SUCCEEDED: "Выполнен",
    R.DECLINED: "Отклонён банком",
    R.REJECTED: "Отклонён сотрудником",
}
EVENT_LABELS: dict[RefundEvent, str] = {
    E.APPROVED: "подтверждение вторым сотрудником",
    E.REJECTED: "отклонение вторым сотрудником",
    E.BANK_SUCCEEDED: "ответ банка: возврат выполнен",
    E.BANK_DECLINED: "ответ банка: отказ",
}


class IllegalRefundTransition(DomainError):
    """An event the table does not allow in the refund's current status."""

    code = "illegal_refund_transition"

    def __init__(self, status: RefundStatus, event: RefundEvent) -> None:
        super().__init__(
            f"Возврат: действие «{EVENT_LABELS[event]}» недопустимо "
            f"в статусе «{STATUS_LABELS[status]}» ({status.value} -> {event.value})"
        )
        self.status = status
        self.event = event


def first_status(four_eyes: bool) -> RefundStatus:
    """Where a new refund starts: held for a second person, or sent at once."""
    return R.AWAITING_APPROVAL if four_eyes else R.REQUESTED


def transition(status: RefundStatus | str, event: RefundEvent) -> RefundStatus:
    """The status after ``event``; raises :class:`IllegalRefundTransition` if not allowed."""
    status, event = RefundStatus(status), RefundEvent(event)
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalRefundTransition(status, event) from None


def values(statuses: frozenset[RefundStatus]) -> tuple[str, ...]:
    """The stored values of a status set, in a stable order (for SQL ``IN``)."""
    return tuple(sorted(s.value for s in statuses))


def status_label(status: str | RefundStatus) -> str:
    """The Russian name of a refund status; an unknown stored value is shown as it is."""
    try:
        return STATUS_LABELS[RefundStatus(status)]
    except ValueError:
        return str(status)
