"""The payment one-time password (the SMS code that confirms a card payment).

Pure logic over an immutable :class:`OtpState`; the caller stores the state and
turns results into payment events (``exhausted`` -> ``otp_rejected_final``,
``expired`` -> ``otp_expired``, ``ok`` -> confirm with the gateway).

The clear code leaves :func:`issue` once, for the SMS; only an HMAC is kept,
keyed with the server secret and bound to the payment id and the moment of
issue, so the code of one payment never confirms another, and an old SMS never
confirms a password issued again for the same payment.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from core.security.codes import code_hash, code_matches, generate_code
from core.security.errors import (AttemptsExceeded, CodeAlreadyUsed, CodeError, CodeExpired,
                                  CodeInvalid)
from core.errors import ValidationError

OTP_DIGITS = 6
OTP_LIFETIME = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 3
OTP_PURPOSE = "payment_otp"
OTP_LABEL = "Одноразовый пароль"

# ASCII digits only: str.isdigit() and \d would let «１２３４５６» through.
_OTP_INPUT = re.compile(rf"[0-9]{{{OTP_DIGITS}}}", re.ASCII)


@dataclass(frozen=True)
class OtpState:
    payment_id: int
    code_hash: str  # HMAC of the code, never the code itself
    created_at: datetime
    expires_at: datetime
    attempts: int  # wrong entries so far
    used_at: datetime | None = None  # set by the one successful entry


class OtpOutcome(str, Enum):
    """The result of one entry of the password."""

    OK = "ok"
    """Right code, in time, first use: confirm the payment."""

    WRONG = "wrong"
    """Wrong code; attempts remain."""

    EXHAUSTED = "exhausted"
    """The last allowed wrong entry (or any entry after it): the payment is to be declined."""

    EXPIRED = "expired"
    """The lifetime ran out: the payment is to be expired."""

    USED = "used"
    """The password was already used to confirm the payment."""


@dataclass(frozen=True)
class OtpResult:
    outcome: OtpOutcome
    attempts_left: int

    @property
    def ok(self) -> bool:
        return self.outcome is OtpOutcome.OK

    def error(self) -> CodeError | None:
        """The Russian error to show for this outcome (None when the code was right)."""
        return _ERRORS[self.outcome](self) if self.outcome is not OtpOutcome.OK else None


# --- errors with the payment's wording (same families as activation codes) ----

class OtpInvalid(CodeInvalid):
    code = "otp_invalid"

    def __init__(self, attempts_left: int) -> None:
        CodeError.__init__(
            self, f"{OTP_LABEL}: неверный пароль, осталось попыток: {attempts_left}",
            field="otp")
        self.attempts_left = attempts_left


class OtpExpired(CodeExpired):
    code = "otp_expired"

    def __init__(self) -> None:
        CodeError.__init__(
            self, f"{OTP_LABEL}: срок действия пароля истёк, платёж не выполнен", field="otp")


class OtpAttemptsExceeded(AttemptsExceeded):
    code = "otp_attempts_exceeded"

    def __init__(self) -> None:
        CodeError.__init__(
            self, f"{OTP_LABEL}: превышено число попыток, платёж отклонён", field="otp")


class OtpAlreadyUsed(CodeAlreadyUsed):
    code = "otp_used"

    def __init__(self) -> None:
        CodeError.__init__(self, f"{OTP_LABEL}: пароль уже использован", field="otp")


_ERRORS = {
    OtpOutcome.WRONG: lambda r: OtpInvalid(r.attempts_left),
    OtpOutcome.EXHAUSTED: lambda r: OtpAttemptsExceeded(),
    OtpOutcome.EXPIRED: lambda r: OtpExpired(),
    OtpOutcome.USED: lambda r: OtpAlreadyUsed(),
}


def _request_id(created_at: datetime) -> int:
    # The moment of issue, to the microsecond, makes each issued password distinct.
    return int(created_at.timestamp() * 1_000_000)


def issue(key: bytes, payment_id: int, now: datetime,
          code: str | None = None, *, purpose: str = OTP_PURPOSE) -> tuple[str, OtpState]:
    """A fresh password: the clear code (send it by SMS, then forget it) and its state.

    ``code`` is the acquirer's own one-time password when it gives us one to deliver
    (see core.payments.inbox); else a new random one. ``purpose`` keeps the codes of
    other things confirmed the same way (a card binding) apart from payments'."""
    code = normalize_input(code) if code is not None else generate_code(OTP_DIGITS)
    digest = code_hash(key, purpose, payment_id, _request_id(now), code)
    return code, OtpState(payment_id=payment_id, code_hash=digest, created_at=now,
                          expires_at=now + OTP_LIFETIME, attempts=0)


def normalize_input(entered: str) -> str:
    """Six ASCII digits (surrounding spaces ignored), else ValidationError; not an attempt."""
    value = (entered or "").strip()
    if not _OTP_INPUT.fullmatch(value):
        raise ValidationError(OTP_LABEL, f"{OTP_DIGITS} цифр из SMS", field="otp")
    return value


def check(key: bytes, state: OtpState, payment_id: int, entered: str,
          now: datetime, *, purpose: str = OTP_PURPOSE) -> tuple[OtpState, OtpResult]:
    """One entry of the password for ``payment_id``; returns the new state and the result.

    Malformed input raises ValidationError and costs no attempt. The HMAC is computed
    with the ``payment_id`` being confirmed, so another payment's code simply does not match.
    """
    value = normalize_input(entered)
    left = max(OTP_MAX_ATTEMPTS - state.attempts, 0)
    if state.used_at is not None:
        return state, OtpResult(OtpOutcome.USED, left)
    if left == 0:
        return state, OtpResult(OtpOutcome.EXHAUSTED, 0)
    if now >= state.expires_at:
        return state, OtpResult(OtpOutcome.EXPIRED, left)
    if payment_id == state.payment_id and code_matches(
            key, state.code_hash, purpose, payment_id, _request_id(state.created_at), value):
        return replace(state, used_at=now), OtpResult(OtpOutcome.OK, left)
    state = replace(state, attempts=state.attempts + 1)
    left -= 1
    outcome = OtpOutcome.WRONG if left else OtpOutcome.EXHAUSTED
    return state, OtpResult(outcome, left)
