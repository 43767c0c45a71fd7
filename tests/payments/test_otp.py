"""The payment one-time password: 6 digits, bound to its payment, single use,
5 minutes, 3 attempts."""
from __future__ import annotations

import pytest

from core.clock import FrozenClock
from core.security.errors import AttemptsExceeded, CodeAlreadyUsed, CodeExpired, CodeInvalid
from core.errors import ValidationError
from core.payments.otp import (
    OTP_DIGITS, OTP_LIFETIME, OTP_MAX_ATTEMPTS, OtpAlreadyUsed, OtpAttemptsExceeded, OtpExpired,
    OtpInvalid, OtpOutcome, check, issue,
)

KEY = b"test-hmac-key"
PAYMENT_A, PAYMENT_B = 101, 202


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** OTP_DIGITS:0{OTP_DIGITS}d}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def test_constants_follow_the_issue():
    assert (OTP_DIGITS, OTP_LIFETIME.total_seconds(), OTP_MAX_ATTEMPTS) == (6, 300, 3)


def test_issue_returns_six_digits_and_keeps_only_an_hmac(clock):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    assert len(code) == 6 and code.isascii() and code.isdigit()
    assert code not in state.code_hash and len(state.code_hash) == 64
    assert state.payment_id == PAYMENT_A and state.attempts == 0 and state.used_at is None
    assert state.expires_at - state.created_at == OTP_LIFETIME


def test_right_code_is_ok_and_marks_the_password_used(clock):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    state, result = check(KEY, state, PAYMENT_A, code, clock.now())
    assert result.ok and result.outcome is OtpOutcome.OK and result.error() is None
    assert state.used_at == clock.now()


def test_right_code_with_surrounding_spaces_is_ok(clock):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    assert check(KEY, state, PAYMENT_A, f" {code} ", clock.now())[1].ok


def test_two_wrong_then_right_is_ok(clock):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    state, first = check(KEY, state, PAYMENT_A, _wrong(code), clock.now())
    state, second = check(KEY, state, PAYMENT_A, _wrong(code), clock.now())
    assert (first.outcome, first.attempts_left) == (OtpOutcome.WRONG, 2)
    assert (second.outcome, second.attempts_left) == (OtpOutcome.WRONG, 1)
    error = second.error()
    assert isinstance(error, OtpInvalid) and isinstance(error, CodeInvalid)
    assert str(error) == "Одноразовый пароль: неверный пароль, осталось попыток: 1"
    state, third = check(KEY, state, PAYMENT_A, code, clock.now())
    assert third.ok and state.attempts == 2


def test_third_wrong_code_exhausts_and_then_even_the_right_code_fails(clock):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    for _ in range(2):
        state, _result = check(KEY, state, PAYMENT_A, _wrong(code), clock.now())
    state, third = check(KEY, state, PAYMENT_A, _wrong(code), clock.now())
    assert (third.outcome, third.attempts_left, state.attempts) == (OtpOutcome.EXHAUSTED, 0, 3)
    error = third.error()
    assert isinstance(error, OtpAttemptsExceeded) and isinstance(error, AttemptsExceeded)
    assert "платёж отклонён" in str(error)
    state, after = check(KEY, state, PAYMENT_A, code, clock.now())
    assert after.outcome is OtpOutcome.EXHAUSTED and state.attempts == 3


def test_code_is_still_good_just_before_five_minutes(clock):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    clock.advance(minutes=4, seconds=59)
    assert check(KEY, state, PAYMENT_A, code, clock.now())[1].ok


def test_code_expires_after_five_minutes(clock):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    clock.advance(minutes=5, seconds=1)
    new_state, result = check(KEY, state, PAYMENT_A, code, clock.now())
    assert result.outcome is OtpOutcome.EXPIRED and new_state == state
    error = result.error()
    assert isinstance(error, OtpExpired) and isinstance(error, CodeExpired)
    assert str(error).startswith("Одноразовый пароль: срок действия пароля истёк")


def test_wrong_code_after_expiry_does_not_count_an_attempt(clock):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    clock.advance(minutes=6)
    new_state, result = check(KEY, state, PAYMENT_A, _wrong(code), clock.now())
    assert result.outcome is OtpOutcome.EXPIRED and new_state.attempts == 0


def test_used_code_entered_again_is_used(clock):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    state, _ok = check(KEY, state, PAYMENT_A, code, clock.now())
    state, again = check(KEY, state, PAYMENT_A, code, clock.now())
    assert again.outcome is OtpOutcome.USED
    error = again.error()
    assert isinstance(error, OtpAlreadyUsed) and isinstance(error, CodeAlreadyUsed)


def test_code_of_payment_a_does_not_confirm_payment_b(clock):
    code_a, _state_a = issue(KEY, PAYMENT_A, clock.now())
    code_b, state_b = issue(KEY, PAYMENT_B, clock.now())
    if code_a == code_b:  # one in a million: the codes themselves coincide
        pytest.skip("random codes coincided")
    state_b, result = check(KEY, state_b, PAYMENT_B, code_a, clock.now())
    assert result.outcome is OtpOutcome.WRONG and state_b.attempts == 1


def test_a_state_checked_for_another_payment_never_matches(clock):
    code_a, state_a = issue(KEY, PAYMENT_A, clock.now())
    _state, result = check(KEY, state_a, PAYMENT_B, code_a, clock.now())
    assert result.outcome is OtpOutcome.WRONG


def test_the_hash_is_bound_to_the_payment_and_the_key(clock):
    from core.security.codes import code_matches
    from core.payments.otp import OTP_PURPOSE, _request_id

    code, state = issue(KEY, PAYMENT_A, clock.now())
    rid = _request_id(state.created_at)
    assert code_matches(KEY, state.code_hash, OTP_PURPOSE, PAYMENT_A, rid, code)
    assert not code_matches(KEY, state.code_hash, OTP_PURPOSE, PAYMENT_B, rid, code)
    assert not code_matches(b"other-key", state.code_hash, OTP_PURPOSE, PAYMENT_A, rid, code)


def test_an_old_code_does_not_confirm_a_password_issued_again(clock):
    old_code, _old = issue(KEY, PAYMENT_A, clock.now())
    clock.advance(minutes=6)
    new_code, new_state = issue(KEY, PAYMENT_A, clock.now())
    if old_code == new_code:
        pytest.skip("random codes coincided")
    assert check(KEY, new_state, PAYMENT_A, old_code, clock.now())[1].outcome is OtpOutcome.WRONG


@pytest.mark.parametrize("entered", ["12345", "１２３４５６", "12a456", "", "1234567",
                                     "12 3456", "-12345", "١٢٣٤٥٦"])
def test_malformed_input_is_refused_without_counting_an_attempt(clock, entered):
    code, state = issue(KEY, PAYMENT_A, clock.now())
    for _ in range(OTP_MAX_ATTEMPTS + 1):  # more often than there are attempts
        with pytest.raises(ValidationError) as caught:
            check(KEY, state, PAYMENT_A, entered, clock.now())
        assert str(caught.value) == "Одноразовый пароль: 6 цифр из SMS"
    _state, result = check(KEY, state, PAYMENT_A, _wrong(code), clock.now())
    assert (result.outcome, result.attempts_left) == (OtpOutcome.WRONG, 2)
