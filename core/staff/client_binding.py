"""Which client a staff session belongs to: its address and user agent, hashed.

The re-login cookie is readable by scripts (the login library sets it from the page),
so it must be worth nothing on another machine or browser: it resumes only a session
opened from the same client, and a session used from another client ends.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import StaffSession

# The cookie is set in the run right after the password login; its issue time (from
# its expiry) is the session's creation time give or take this much.
ISSUE_SLACK = timedelta(minutes=5)


def client_hash(address: str | None, user_agent: str | None) -> str:
    """SHA-256 of what the server sees of a client (not a secret: a label to compare)."""
    return hashlib.sha256(f"{address or '?'}\n{user_agent or '?'}".encode()).hexdigest()


def cookie_matches_client(s: Session, staff_id: int, issued_at: datetime, client: str) -> bool:
    """Was the cookie issued (at ``issued_at``) to a password login from this client?"""
    sessions = s.scalars(select(StaffSession.client_hash).where(
        StaffSession.staff_id == staff_id, StaffSession.origin == "password",
        # A login still owing its second factor (or never done) gave no valid cookie.
        StaffSession.pending.is_(None),
        StaffSession.created_at >= issued_at - ISSUE_SLACK,
        StaffSession.created_at <= issued_at + ISSUE_SLACK)).all()
    return client in sessions


def completed_login_near(s: Session, staff_id: int, issued_at: datetime) -> bool:
    """Did a password login of about ``issued_at`` get past all its steps?"""
    return s.scalar(select(StaffSession.id).where(
        StaffSession.staff_id == staff_id, StaffSession.origin == "password",
        StaffSession.pending.is_(None),
        StaffSession.created_at >= issued_at - ISSUE_SLACK,
        StaffSession.created_at <= issued_at + ISSUE_SLACK).limit(1)) is not None
