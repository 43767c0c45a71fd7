"""Captcha port: the registration form's protection from automatic sign-ups.

``ArithmeticCaptcha`` is a simple real implementation: a sum to solve, with a
signed, expiring token, so nothing needs to be stored between showing the
question and checking the answer. A solved challenge is good for one registration:
the registration keeps its ``challenge_key`` for as long as a token can live
(``CAPTCHA_LIFETIME``). ``StaticCaptcha`` is the test double.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from core.clock import Clock

CAPTCHA_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class CaptchaChallenge:
    token: str  # goes back with the answer
    question: str  # shown to the person, e.g. «Сколько будет 7 + 5?»


class Captcha(Protocol):
    def challenge(self) -> CaptchaChallenge: ...

    def verify(self, token: str, answer: str) -> bool: ...

    def challenge_key(self, token: str) -> str:
        """What names the challenge behind a verified token: equal for the same challenge,
        different for any other, so the caller can accept each challenge once."""
        ...


class ArithmeticCaptcha:
    def __init__(self, key: bytes, clock: Clock) -> None:
        self._key = key
        self._clock = clock

    def challenge(self) -> CaptchaChallenge:
        a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
        expires = int((self._clock.now() + CAPTCHA_LIFETIME).timestamp())
        nonce = secrets.token_hex(8)
        payload = {"n": nonce, "e": expires, "h": self._sign(nonce, expires, str(a + b))}
        token = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
        return CaptchaChallenge(token=token, question=f"Сколько будет {a} + {b}?")

    def verify(self, token: str, answer: str) -> bool:
        try:
            payload = json.loads(base64.urlsafe_b64decode(token.encode()))
            nonce, expires, signature = str(payload["n"]), int(payload["e"]), str(payload["h"])
        except (ValueError, KeyError, TypeError):
            return False
        if expires < self._clock.now().timestamp():
            return False
        return hmac.compare_digest(signature, self._sign(nonce, expires, answer.strip()))

    def challenge_key(self, token: str) -> str:
        # The nonce is under the signature: a token that verified cannot have changed it.
        return "arithmetic:" + str(json.loads(base64.urlsafe_b64decode(token.encode()))["n"])

    def _sign(self, nonce: str, expires: int, answer: str) -> str:
        message = f"captcha:{nonce}:{expires}:{answer}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


class StaticCaptcha:
    """Test double: accepts only ``answer`` (default «ok»), with any token; the token is the
    challenge's key, so one token registers one cabinet, as with the real captcha."""

    def __init__(self, answer: str = "ok") -> None:
        self._answer = answer

    def challenge(self) -> CaptchaChallenge:
        return CaptchaChallenge(token="static-" + secrets.token_hex(8), question="Введите ok")

    def verify(self, token: str, answer: str) -> bool:
        return answer == self._answer

    def challenge_key(self, token: str) -> str:
        return "static:" + token
