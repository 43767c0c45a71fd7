"""Login rate limiting shared by customers and staff.

A counter counts the failures of one key and locks it once they reach its limit. Customers
have one counter per login name (5 failures lock for 30 minutes). Staff logins add counters
per client address (see ``core.staff.members.login``), so that a row is the failures of a
login name, of a login name from one address, or (another scope) of one address over all
login names.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db.models import LoginThrottle
from core.security.errors import LoginLocked
from core.timefmt import format_datetime_msk

MAX_LOGIN_FAILURES = 5
LOGIN_LOCK = timedelta(minutes=30)
ANY_ADDRESS = ""  # the counter of a login name from every address together
UNKNOWN_ADDRESS = "unknown"
_ADDRESS_MAX = 64  # the column's width


@dataclass(frozen=True)
class Limit:
    max_failures: int
    lock: timedelta
    # Failures are forgotten this long after the first one counted; None: only a success
    # or the end of a lock starts a new count.
    window: timedelta | None = None


CUSTOMER_LIMIT = Limit(MAX_LOGIN_FAILURES, LOGIN_LOCK)


@dataclass(frozen=True)
class Lock:
    login_key: str
    client_address: str  # ANY_ADDRESS: locked from every address
    until: datetime


def address_key(raw: str | None) -> str:
    """The address a failure is counted for. An IPv6 client usually holds a whole /64, so
    its addresses count as that network. No address, and the local host, count as one
    address, «unknown»: a reverse proxy on this host whose client address is not passed on
    (or not trusted) makes every client look local, e.g. «::ffff:127.0.0.1» on a
    dual-stack socket."""
    # Not a string: a caller's stand-in (Streamlit's AppTest hands out a mock), no address.
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return UNKNOWN_ADDRESS
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            text.split("%", 1)[0])
    except ValueError:
        return text[:_ADDRESS_MAX]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return UNKNOWN_ADDRESS
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def _get(session: Session, scope: str, key: str, address: str) -> LoginThrottle | None:
    return session.scalar(select(LoginThrottle).where(LoginThrottle.scope == scope,
                                                      LoginThrottle.login_key == key,
                                                      LoginThrottle.client_address == address))


def locked_until(session: Session, scope: str, key: str, now: datetime,
                 address: str = ANY_ADDRESS) -> datetime | None:
    row = _get(session, scope, key, address)
    if row and row.locked_until and row.locked_until > now:
        return row.locked_until
    return None


def ensure_not_locked(session: Session, scope: str, key: str, now: datetime,
                      address: str = ANY_ADDRESS) -> None:
    until = locked_until(session, scope, key, now, address)
    if until is not None:
        raise LoginLocked(format_datetime_msk(until))


def register_failure(session: Session, scope: str, key: str, now: datetime,
                     limit: Limit = CUSTOMER_LIMIT, address: str = ANY_ADDRESS) -> bool:
    """Count a failure; True when this failure locked the key."""
    row = _get(session, scope, key, address)
    if row is None:
        row = LoginThrottle(scope=scope, login_key=key, client_address=address, failures=0,
                            window_started_at=now, updated_at=now)
        session.add(row)
        try:
            # A savepoint, so that losing the race to a concurrent first failure keeps
            # what the caller's transaction has done so far.
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            row = _get(session, scope, key, address)
            assert row is not None
    if row.locked_until and row.locked_until <= now:
        row.failures, row.locked_until = 0, None  # an expired lock starts a new count
    if row.locked_until is None and (row.failures == 0 or _window_over(row, limit, now)):
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    row.updated_at = now
    if row.locked_until is None and row.failures >= limit.max_failures:
        row.locked_until = now + limit.lock
        return True
    return False


def _window_over(row: LoginThrottle, limit: Limit, now: datetime) -> bool:
    if limit.window is None:
        return False
    return row.window_started_at is None or now - row.window_started_at >= limit.window


def register_success(session: Session, scope: str, key: str,
                     address: str = ANY_ADDRESS) -> None:
    row = _get(session, scope, key, address)
    if row is not None:
        session.delete(row)


def active_locks(session: Session, scope: str, now: datetime) -> list[Lock]:
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.scope == scope,
                                                       LoginThrottle.locked_until > now)
                           .order_by(LoginThrottle.login_key, LoginThrottle.client_address))
    return [Lock(r.login_key, r.client_address, r.locked_until) for r in rows
            if r.locked_until is not None]


def clear(session: Session, scope: str, key: str) -> int:
    """Forget every counter of a login name, from every address; how many there were."""
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.scope == scope,
                                                         LoginThrottle.login_key == key))
    return int(result.rowcount or 0)
