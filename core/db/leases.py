"""Worker jobs beside each other: claiming due rows, and once-only jobs.

Several ``python -m core worker`` processes may run on one PostgreSQL. A job that
works through due rows claims a batch in one short transaction: the rows are read
``FOR UPDATE SKIP LOCKED`` (a second worker's claim skips what the first is claiming
instead of waiting for it) and their due column is moved a lease ahead, so that
once committed they are not due for anybody else while this worker calls the
gateway, the register or the SMTP server outside any transaction. A worker that
dies holding a lease leaves the rows due again when it runs out. Before each
remote call a worker whose lease is half spent renews it by compare-and-set: if
another worker has taken the row meanwhile, the row is left to it.

A job that must not run twice at once (a day's settlement, the invoice snapshot,
``ANALYZE``) takes a PostgreSQL advisory lock and skips its run when another process
holds it. SQLite has a single writer (``BEGIN IMMEDIATE``): there the claim's write
transaction already takes turns, SKIP LOCKED does not exist, and the once-only
guard always lets the job run (two runs queue instead).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, text, update
from sqlalchemy.orm import InstrumentedAttribute, Session


@dataclass(frozen=True)
class Claim:
    """A row this worker holds until ``until`` (the due column's value now)."""

    id: int
    due_at: datetime | None  # the due column before the claim
    until: datetime
    lease: timedelta

    def half_spent(self, now: datetime) -> bool:
        return now >= self.until - self.lease / 2


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim(session: Session, query: Select[Any], due: InstrumentedAttribute[Any], *,
          now: datetime, lease: timedelta, **extra: Any) -> list[Claim]:
    """Claim the rows ``query`` selects (``(id, due column)`` of ``due``'s table, ordered
    and limited): locked with SKIP LOCKED on PostgreSQL, their due column set to
    ``now + lease`` (and ``extra`` columns to their values). The caller commits."""
    model = due.class_
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True, of=model)
    rows = session.execute(query).all()
    until = now + lease
    if rows:
        session.execute(update(model).where(model.id.in_([row[0] for row in rows]))
                        .values({due: until, **extra})
                        .execution_options(synchronize_session=False))
    return [Claim(int(row[0]), row[1], until, lease) for row in rows]


def renew(session: Session, due: InstrumentedAttribute[Any], held: Claim,
          now: datetime) -> Claim | None:
    """Extend a claim whose lease is half spent, if the row is still ours (its due column
    still our lease): the renewed claim, or None when someone else has the row now.
    The caller commits."""
    model = due.class_
    until = now + held.lease
    result = session.execute(update(model).where(model.id == held.id, due == held.until)
                             .values({due: until})
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return Claim(held.id, held.due_at, until, held.lease)


def still_held(app_uow: Any, due: InstrumentedAttribute[Any], held: Claim,
               now: datetime) -> Claim | None:
    """Before a remote call: the claim itself while its lease is fresh, else renewed in a
    transaction of its own (None: the row is someone else's now)."""
    if not held.half_spent(now):
        return held
    with app_uow() as uow:
        renewed = renew(uow.session, due, held, now)
        uow.commit()
    return renewed


# --- once-only jobs ----------------------------------------------------------------

def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a job's name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def try_transaction_lock(session: Session, name: str) -> bool:
    """In the caller's transaction: True when this process may run ``name`` now (the lock
    is held until the transaction ends); False when another process runs it. Always
    True on SQLite (its write transactions take turns)."""
    if not is_postgresql(session):
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                               {"key": lock_key(name)}))


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """For a job that spans several transactions or runs outside one (a gateway call,
    ``ANALYZE``): yields True while this process holds ``name``'s advisory lock on a
    connection of its own, False when another process holds it. The lock ends with the
    block, or with the connection if the process dies. Always True on SQLite."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        key = lock_key(name)
        held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
