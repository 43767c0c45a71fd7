"""Slow salted hashes for passwords and code words.

Customers: argon2id (no 72-byte limit, so 128-character passwords count whole).
Staff: bcrypt, because streamlit-authenticator's credentials carry bcrypt
hashes; staff passwords are therefore capped at 72 bytes.
"""
from __future__ import annotations

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.config import HashingCost


class Argon2Hasher:
    def __init__(self, cost: HashingCost) -> None:
        self._hasher = PasswordHasher(time_cost=cost.argon2_time_cost,
                                      memory_cost=cost.argon2_memory_cost_kib,
                                      parallelism=cost.argon2_parallelism)
        # Verifying against this when the login is unknown costs the same time
        # as a real check, so response time does not reveal which logins exist.
        self.dummy_hash = self._hasher.hash("not-a-real-password-0")

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, stored_hash: str, secret: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, secret)
        except (VerificationError, InvalidHashError):
            return False


class BcryptHasher:
    def __init__(self, cost: HashingCost) -> None:
        self._rounds = cost.bcrypt_rounds
        self.dummy_hash = self.hash("not-a-real-password-0")

    def hash(self, secret: str) -> str:
        return bcrypt.hashpw(secret.encode(), bcrypt.gensalt(self._rounds)).decode()

    def verify(self, stored_hash: str, secret: str) -> bool:
        try:
            return bcrypt.checkpw(secret.encode(), stored_hash.encode())
        except ValueError:
            return False
