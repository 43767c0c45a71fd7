"""The password check of a customer's login, shared by ``cabinet.login`` and
``activation_resume.resume_activation``: one check, so that both count failures toward the
same lockout and refuse an unknown login exactly as a wrong password.

``check_credentials`` only reads; the use case records the outcome in its own transaction
(``throttle.register_failure`` / ``register_success`` on ``THROTTLE_SCOPE`` and the key).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.app import App
from core.customers.errors import LoginFailed
from core.customers.rules import try_normalize_phone
from core.db.models import Customer
from core.security import throttle
from core.text import refuse_control_characters

THROTTLE_SCOPE = "customer"


@dataclass(frozen=True)
class CheckedLogin:
    throttle_key: str  # the counter this login's failures go to
    customer_id: int | None  # None: an unknown login or a wrong password, alike


def _login_key(login: str) -> tuple[str, str | None, str | None]:
    """(throttle key, phone, email) for what the customer typed."""
    raw = refuse_control_characters(login, "Логин", "login").strip()
    if "@" in raw:
        return raw.lower()[:254], None, raw.lower()
    phone = try_normalize_phone(raw)
    return (phone or raw.lower()[:254]), phone, None


def check_credentials(app: App, login_name: str, password: str, now: datetime) -> CheckedLogin:
    """Whose password this is, if anyone's. Raises ``LoginFailed`` for an empty login or
    password (nothing is counted then) and ``LoginLocked`` while the login is locked."""
    key, phone, email = _login_key(login_name)
    if not key or not password:
        raise LoginFailed()
    with app.uow(write=False) as uow:
        throttle.ensure_not_locked(uow.session, THROTTLE_SCOPE, key, now)
        found = None
        if phone or email:
            column = Customer.phone if phone else Customer.email
            found = uow.session.execute(select(Customer.id, Customer.password_hash)
                                        .where(column == (phone or email))).first()
    # The slow check runs outside any transaction; an unknown login is checked
    # against a dummy hash so it takes as long as a real one.
    stored = found.password_hash if found else app.customer_hasher.dummy_hash
    password_ok = app.customer_hasher.verify(stored, password[:256]) and found is not None
    return CheckedLogin(key, found.id if password_ok and found is not None else None)
