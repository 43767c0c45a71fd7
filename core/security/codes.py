"""One-time codes: activation codes sent by SMS (and, later, payment OTPs).

A code is random, kept only as an HMAC keyed with a server secret and bound to
its owner and its own row (so the code of one request never confirms another),
single use, short-lived, and allows a bounded number of wrong entries. An HMAC,
not a slow hash: a 4-digit code gains nothing from bcrypt, the secret key is
what protects it.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

ACTIVATION_CODE_DIGITS = 4
ACTIVATION_CODE_LIFETIME = timedelta(minutes=10)
ACTIVATION_MAX_ATTEMPTS = 5
ACTIVATION_RESEND_AFTER = timedelta(seconds=60)


def generate_code(digits: int) -> str:
    return f"{secrets.randbelow(10 ** digits):0{digits}d}"


def code_hash(key: bytes, purpose: str, owner_id: int, request_id: int, code: str) -> str:
    message = f"{purpose}:{owner_id}:{request_id}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def code_matches(key: bytes, stored: str, purpose: str, owner_id: int, request_id: int,
                 code: str) -> bool:
    return hmac.compare_digest(stored, code_hash(key, purpose, owner_id, request_id, code.strip()))


def new_token() -> tuple[str, str]:
    """A session token for the client and the SHA-256 the server keeps."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
