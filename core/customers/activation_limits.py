"""The day's caps on activation: wrong codes a cabinet may enter, codes a phone is sent.

Each code allows 5 wrong entries and a new one may be asked every minute: without a cap
across codes that was thousands of guesses at a 4-digit code a day. Both caps count over
the last 24 hours and say when the count falls under the cap again.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import ActivationCode, Customer

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class DayCount:
    used: int
    left: int
    until: datetime | None  # when ``left`` is positive again; None while it is


def _count(events: Sequence[tuple[datetime, int]], cap: int) -> DayCount:
    """``events``: (moment, weight) oldest first, all within the window."""
    used = sum(weight for _, weight in events)
    if used < cap:
        return DayCount(used, cap - used, None)
    remaining = used
    for moment, weight in events:
        remaining -= weight
        if remaining < cap:
            return DayCount(used, 0, moment + WINDOW)
    raise AssertionError("a positive cap is always reached")  # pragma: no cover


def wrong_codes(session: Session, customer_id: int, now: datetime, cap: int) -> DayCount:
    """Wrong entries over all the cabinet's codes of the last 24 hours. Each counts at its
    code's creation: a code lives 10 minutes, so that is when its entries were made."""
    rows = session.execute(
        select(ActivationCode.created_at, ActivationCode.attempts)
        .where(ActivationCode.customer_id == customer_id,
               ActivationCode.created_at > now - WINDOW, ActivationCode.attempts > 0)
        .order_by(ActivationCode.created_at, ActivationCode.id)).all()
    return _count([(r.created_at, r.attempts) for r in rows], max(cap, 1))


def codes_sent(session: Session, phone: str, now: datetime, cap: int) -> DayCount:
    """Activation codes sent to ``phone`` in the last 24 hours."""
    moments = session.scalars(
        select(ActivationCode.created_at)
        .join(Customer, Customer.id == ActivationCode.customer_id)
        .where(Customer.phone == phone, ActivationCode.created_at > now - WINDOW)
        .order_by(ActivationCode.created_at, ActivationCode.id)).all()
    return _count([(moment, 1) for moment in moments], max(cap, 1))
