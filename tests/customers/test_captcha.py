"""The real captcha: a signed, expiring arithmetic question; and its contract with the double."""
from __future__ import annotations

import base64
import json
import re

import pytest

from core.customers.captcha import ArithmeticCaptcha, Captcha, StaticCaptcha
from core.clock import FrozenClock


def _answer(question: str) -> str:
    a, b = map(int, re.findall(r"\d+", question))
    return str(a + b)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def captcha(clock) -> ArithmeticCaptcha:
    return ArithmeticCaptcha(b"captcha-test-key", clock)


def test_the_right_sum_passes_and_a_wrong_one_does_not(captcha):
    challenge = captcha.challenge()
    assert re.fullmatch(r"Сколько будет \d \+ \d\?", challenge.question)
    right = _answer(challenge.question)
    assert captcha.verify(challenge.token, right)
    assert captcha.verify(challenge.token, f" {right} ")
    assert not captcha.verify(challenge.token, str(int(right) + 1))
    assert not captcha.verify(challenge.token, "")


def test_an_answer_after_ten_minutes_is_refused(captcha, clock):
    challenge = captcha.challenge()
    clock.advance(minutes=10, seconds=1)
    assert not captcha.verify(challenge.token, _answer(challenge.question))


def test_a_token_signed_with_another_key_or_edited_is_refused(captcha, clock):
    challenge = captcha.challenge()
    right = _answer(challenge.question)
    other = ArithmeticCaptcha(b"another-key", clock)
    assert not other.verify(challenge.token, right)
    payload = json.loads(base64.urlsafe_b64decode(challenge.token))
    payload["e"] += 3600  # try to extend the lifetime
    edited = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    assert not captcha.verify(edited, right)


@pytest.mark.parametrize("token", ["", "not-base64!", "x" * 10_000,
                                   base64.urlsafe_b64encode(b"[1,2]").decode()])
def test_garbage_tokens_are_refused_without_an_error(captcha, token):
    assert captcha.verify(token, "5") is False


@pytest.mark.parametrize("make", [lambda c: ArithmeticCaptcha(b"k", c), lambda c: StaticCaptcha()])
def test_both_implementations_keep_the_port_contract(make, clock):
    impl: Captcha = make(clock)
    challenge = impl.challenge()
    assert challenge.token and challenge.question
    right = _answer(challenge.question) if isinstance(impl, ArithmeticCaptcha) else "ok"
    assert impl.verify(challenge.token, right) is True
    assert impl.verify(challenge.token, "wrong") is False


@pytest.mark.parametrize("make", [lambda c: ArithmeticCaptcha(b"k", c), lambda c: StaticCaptcha()])
def test_each_challenge_has_its_own_key_to_spend_it_once(make, clock):
    impl: Captcha = make(clock)
    first, second = impl.challenge(), impl.challenge()
    assert impl.challenge_key(first.token) == impl.challenge_key(first.token)
    assert impl.challenge_key(first.token) != impl.challenge_key(second.token)
