"""Login rate limiting shared by customers and staff: 5 failures lock for 30 minutes."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db.models import LoginThrottle
from core.security.errors import LoginLocked
from core.timefmt import format_datetime_msk

MAX_LOGIN_FAILURES = 5
LOGIN_LOCK = timedelta(minutes=30)


def _get(session: Session, scope: str, key: str) -> LoginThrottle | None:
    return session.scalar(select(LoginThrottle).where(LoginThrottle.scope == scope,
                                                      LoginThrottle.login_key == key))


def ensure_not_locked(session: Session, scope: str, key: str, now: datetime) -> None:
    row = _get(session, scope, key)
    if row and row.locked_until and row.locked_until > now:
        raise LoginLocked(format_datetime_msk(row.locked_until))


def register_failure(session: Session, scope: str, key: str, now: datetime) -> bool:
    """Count a failure; True when this failure locked the login."""
    row = _get(session, scope, key)
    if row is None:
        row = LoginThrottle(scope=scope, login_key=key, failures=0, updated_at=now)
        session.add(row)
        try:
            session.flush()
        except IntegrityError:  # a concurrent first failure created it
            session.rollback()
            row = _get(session, scope, key)
            assert row is not None
    if row.locked_until and row.locked_until <= now:
        row.failures, row.locked_until = 0, None  # an expired lock starts a new count
    row.failures += 1
    row.updated_at = now
    if row.failures >= MAX_LOGIN_FAILURES:
        row.locked_until = now + LOGIN_LOCK
        return True
    return False


def register_success(session: Session, scope: str, key: str) -> None:
    row = _get(session, scope, key)
    if row is not None:
        session.delete(row)
