"""The acquiring gateway as a port: a ``Protocol`` with request/response dataclasses.

Three different outcomes, never mixed up:

* a **decline** is an answer (business outcome): ``status="declined"`` with a
  ``decline_code`` and a Russian ``decline_message_ru`` — nothing was charged;
* ``GatewayUnavailable``: the gateway could not be reached — nothing happened there;
* ``GatewayTimeout``: the request went out but the answer was lost — the outcome is
  **unknown** and is learned later only through ``status()`` (or, for an
  authorisation or a refund, by repeating the request with the same idempotency key).

Callers write the attempt (payment id, idempotency key, amount) to their own storage
**before** calling the gateway, so that a crash or a time-out leaves a record that
recovery can settle by asking ``status()``.

Binding a card without a payment («Способы оплаты») is the acquirers' card check:
``verify_card`` asks for a hold of ``VERIFY_AMOUNT_KOPECKS`` (1 ₽) behind the same
3-D Secure one-time password, ``confirm`` with the right code places the hold (nothing
is charged, nothing goes to the settlement registry) and ``reverse`` releases it; the
card's token then pays like any other.

The card number and CVV go out in the request in which they were entered; nothing
here keeps them, and no ``repr``/``str`` shows them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from core.payments.cards import CardInput

# --- decline codes (stable, for logs and tests) and their Russian messages ---
ISSUER_DECLINED = "issuer_declined"
INSUFFICIENT_FUNDS = "insufficient_funds"
INCORRECT_CVV = "incorrect_cvv"
EXPIRED_CARD = "expired_card"
PROCESSING_ERROR = "processing_error"
TIMED_OUT_NOT_CHARGED = "timed_out"
OTP_ATTEMPTS_EXCEEDED = "otp_attempts_exceeded"
UNKNOWN_TOKEN = "unknown_token"
UNKNOWN_TRANSACTION = "unknown_transaction"
NOT_REFUNDABLE = "not_refundable"
REFUND_EXCEEDS_AVAILABLE = "refund_exceeds_available"
INVALID_AMOUNT = "invalid_amount"
NOT_REVERSIBLE = "not_reversible"

# The card check's hold: the smallest amount issuers authorise, released at once.
VERIFY_AMOUNT_KOPECKS = 100

DECLINE_MESSAGES: dict[str, str] = {
    ISSUER_DECLINED: "Отказ банка-эмитента",
    INSUFFICIENT_FUNDS: "Недостаточно средств",
    INCORRECT_CVV: "Неверный CVV",
    EXPIRED_CARD: "Срок действия карты истёк",
    PROCESSING_ERROR: "Ошибка обработки платежа, попробуйте позже",
    TIMED_OUT_NOT_CHARGED: "Банк не ответил вовремя, деньги не списаны",
    OTP_ATTEMPTS_EXCEEDED: "Превышено число попыток ввода кода подтверждения",
    UNKNOWN_TOKEN: "Сохранённая карта не найдена",
    UNKNOWN_TRANSACTION: "Платёж не найден",
    NOT_REFUNDABLE: "Возврат возможен только по успешному платежу",
    REFUND_EXCEEDS_AVAILABLE: "Сумма возврата больше суммы, доступной к возврату",
    INVALID_AMOUNT: "Сумма должна быть больше нуля",
    NOT_REVERSIBLE: "Отменить можно только удержание проверки карты",
}


def decline_message(code: str) -> str:
    return DECLINE_MESSAGES.get(code, DECLINE_MESSAGES[ISSUER_DECLINED])


class AuthorizeStatus(StrEnum):
    """Answer to ``tokenize_and_authorize``."""

    OTP_REQUIRED = "otp_required"  # card accepted; a one-time password went to the holder
    DECLINED = "declined"  # refused (see decline_code); nothing charged, no OTP sent
    ERROR = "error"  # the gateway processed the request and failed; nothing charged


class ConfirmStatus(StrEnum):
    """Answer to ``confirm``."""

    SUCCEEDED = "succeeded"  # charged; rrn and auth_code are set
    AUTHORIZED = "authorized"  # a card check's code was right: 1 ₽ held, never charged
    DECLINED = "declined"  # final refusal (issuer, OTP attempts used up, unknown txn)
    OTP_INVALID = "otp_invalid"  # wrong code; attempts_left more tries
    OTP_EXPIRED = "otp_expired"  # the code's lifetime passed; the transaction is declined


class TxnStatus(StrEnum):
    """Answer to ``status``: what really happened to a transaction."""

    PENDING = "pending"  # waiting for the OTP; not charged yet
    SUCCEEDED = "succeeded"  # charged (refunds are reported in refunded_kopecks)
    AUTHORIZED = "authorized"  # a card check's hold, waiting for ``reverse``; not charged
    REVERSED = "reversed"  # a card check's hold released; nothing was charged
    DECLINED = "declined"  # finally not charged
    NOT_FOUND = "not_found"  # the gateway never received it


class RefundStatus(StrEnum):
    """Answer to ``refund``."""

    SUCCEEDED = "succeeded"  # money returned to the card
    DECLINED = "declined"  # refused (see decline_code); nothing returned


class ReverseStatus(StrEnum):
    """Answer to ``reverse``."""

    REVERSED = "reversed"  # the hold is released (also when it already was)
    DECLINED = "declined"  # nothing to release (see decline_code)


class Operation(StrEnum):
    """A settlement registry line's operation."""

    PAYMENT = "payment"  # money taken from the card
    REFUND = "refund"  # money returned to the card


class GatewayUnavailable(Exception):
    """The gateway could not be reached: the request did not get there, nothing happened."""


class GatewayTimeout(Exception):
    """The request went out, the answer was lost: the outcome is unknown.

    ``gateway_txn_id`` is set when the request was about a known transaction
    (confirm, refund), so ``status()`` can tell what happened; for an authorisation
    repeat the request with the same idempotency key.
    """

    def __init__(self, gateway_txn_id: str | None = None) -> None:
        super().__init__("Шлюз не ответил вовремя: результат операции неизвестен")
        self.gateway_txn_id = gateway_txn_id


class IdempotencyKeyReused(ValueError):
    """The same idempotency key came with a different request: a caller's bug."""


@dataclass(frozen=True)
class AuthorizeRequest:
    """Either a new ``card``, or a saved card's ``token`` with its ``cvv`` typed again."""

    payment_id: str
    amount_kopecks: int
    card: CardInput | None
    token: str | None
    cvv: str | None = field(repr=False)
    description: str
    idempotency_key: str


@dataclass(frozen=True)
class VerifyCardRequest:
    """A card check for binding: ``binding_id`` is ours, like a payment's id."""

    binding_id: str
    card: CardInput
    idempotency_key: str


@dataclass(frozen=True)
class AuthorizeResponse:
    status: AuthorizeStatus
    gateway_txn_id: str | None = None
    card_token: str | None = None  # only with otp_required: save it to pay again
    brand: str | None = None
    masked_pan: str | None = None  # 411111******1111
    exp_month: int | None = None
    exp_year: int | None = None
    decline_code: str | None = None
    decline_message_ru: str | None = None


@dataclass(frozen=True)
class ConfirmRequest:
    gateway_txn_id: str
    otp: str = field(repr=False)


@dataclass(frozen=True)
class ConfirmResponse:
    status: ConfirmStatus
    gateway_txn_id: str
    rrn: str | None = None  # retrieval reference number, 12 digits
    auth_code: str | None = None
    attempts_left: int | None = None  # with otp_invalid
    decline_code: str | None = None
    decline_message_ru: str | None = None


@dataclass(frozen=True)
class StatusResponse:
    status: TxnStatus
    gateway_txn_id: str
    amount_kopecks: int | None = None
    refunded_kopecks: int = 0
    rrn: str | None = None
    auth_code: str | None = None
    decline_code: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    gateway_txn_id: str
    amount_kopecks: int
    idempotency_key: str


@dataclass(frozen=True)
class RefundResponse:
    status: RefundStatus
    gateway_txn_id: str
    amount_kopecks: int
    refund_id: str | None = None
    rrn: str | None = None
    refunded_total_kopecks: int = 0  # all succeeded refunds of the payment, this one included
    decline_code: str | None = None
    decline_message_ru: str | None = None


@dataclass(frozen=True)
class ReverseResponse:
    status: ReverseStatus
    gateway_txn_id: str
    amount_kopecks: int = 0  # the hold released
    decline_code: str | None = None
    decline_message_ru: str | None = None


@dataclass(frozen=True)
class SettlementLine:
    gateway_txn_id: str  # the payment's transaction, also for its refunds
    rrn: str
    masked_pan: str
    amount_kopecks: int  # positive for both operations
    operation: Operation
    time: datetime  # UTC


class AcquiringGateway(Protocol):
    """An acquirer. Callers record the attempt before every call (see the module docstring).

    Every method may raise ``GatewayUnavailable`` (nothing happened) or
    ``GatewayTimeout`` (outcome unknown); declines are answers, not exceptions.
    """

    def tokenize_and_authorize(self, request: AuthorizeRequest) -> AuthorizeResponse:
        """Check the card, send the holder a one-time password. Same key -> same answer."""
        ...

    def confirm(self, request: ConfirmRequest) -> ConfirmResponse:
        """Charge the card when the OTP is right. Repeating on a final transaction
        returns its final answer again and never charges twice."""
        ...

    def verify_card(self, request: VerifyCardRequest) -> AuthorizeResponse:
        """A card check: like ``tokenize_and_authorize`` for ``VERIFY_AMOUNT_KOPECKS``, but
        ``confirm`` with the right code only holds the money (``authorized``) and
        ``reverse`` releases it; never charged, never in the registry. Same key -> same
        answer."""
        ...

    def reverse(self, gateway_txn_id: str) -> ReverseResponse:
        """Release a card check's hold. Repeating answers ``reversed`` again; anything
        but a held card check is declined (``not_reversible``)."""
        ...

    def status(self, gateway_txn_id: str) -> StatusResponse:
        """What really happened to a transaction."""
        ...

    def refund(self, request: RefundRequest) -> RefundResponse:
        """Return money, never above the charged amount minus earlier refunds."""
        ...

    def settlement_registry(self, day: date) -> list[SettlementLine]:
        """The bank's registry: succeeded payments and refunds of the day (Moscow time)."""
        ...
