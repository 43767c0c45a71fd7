"""The cabinet's session check that every action of a payer starts with.

Public to every context that serves a signed-in customer (billing, payments, notifications):
``signed_in_customer`` is read-only towards the caller's unit of work, it never commits. The
one use case that records a session's idle end is ``cabinet.current_customer_id``, which the
cabinet calls on every page.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.customers.errors import (
    CabinetBlocked, SessionExpired, SessionInvalid, ViewOnlySession,
)
from core.customers.lifecycle import open_block_exists
from core.db.models import Customer, CustomerSession
from core.security import codes

SESSION_IDLE = timedelta(minutes=30)

# The session, its customer and whether the cabinet is blocked in one round trip, the
# statement built once: every action of a payer starts here.
_SESSION_CUSTOMER = (select(CustomerSession, Customer, open_block_exists(Customer.id))
                     .join(Customer, Customer.id == CustomerSession.customer_id)
                     .where(CustomerSession.token_hash == bindparam("token_hash")))


def signed_in_customer(session: Session, token: str, now: datetime, *,
                       reading: bool = False) -> Customer:
    """The customer of a live cabinet session, its last activity moved to ``now``.

    Raises ``SessionInvalid`` for an unknown or ended session, ``SessionExpired`` after
    ``SESSION_IDLE`` without activity (nothing is written then: ending it is the caller's
    decision), ``CabinetBlocked`` for a blocked cabinet.

    A staff member's «Смотреть как клиент» session (``viewer_staff_id``) passes only for
    ``reading`` use cases, also on a blocked cabinet (the agent sees what is in it); any
    other use case raises ``ViewOnlySession``. So acting is refused by default: a use
    case says it only reads.
    """
    found = session.execute(_SESSION_CUSTOMER,
                            {"token_hash": codes.token_digest(token or "")}).first()
    if found is None or found[0].ended_at is not None or found[0].handover_until is not None:
        raise SessionInvalid()  # (a view's link ticket is not a session's token)
    row, customer, blocked = found
    if now - row.last_seen_at > SESSION_IDLE:
        raise SessionExpired(row.id)
    if row.viewer_staff_id is not None:
        if not reading:
            raise ViewOnlySession()
    elif blocked:
        raise CabinetBlocked()
    # Flushed with the caller's own writes (a read-only unit of work writes nothing):
    # an UPDATE issued here would take the session row's lock, or on SQLite turn a
    # read transaction into a write one, before the caller's own locking order.
    row.last_seen_at = now
    return customer
