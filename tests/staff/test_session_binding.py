"""A staff session belongs to the client (address and browser) it was opened from: the
re-login cookie resumes it only there, and a session used from elsewhere ends. Both
refusals are journaled."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.actors import StaffRole
from core.customers.errors import SessionInvalid
from core.db.models import AuditEntry, StaffSession
from core.staff import members
from tests.factories.customers import STAFF_PASSWORD, make_staff

OFFICE = members.client_hash("10.0.0.5", "Mozilla/5.0 (X11; Linux) Chrome/131")
THIEF = members.client_hash("203.0.113.9", "Mozilla/5.0 (Windows NT 10.0) Chrome/131")
SAME_IP_OTHER_BROWSER = members.client_hash("10.0.0.5", "Mozilla/5.0 Firefox/133")


def _journal(app, action: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return [e.after for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action)).all()]


@pytest.fixture
def agent(app):  # type: ignore[no-untyped-def]
    return make_staff(app, StaffRole.AGENT, login="bound.agent")


def test_the_cookie_resumes_only_on_the_client_that_logged_in(app, clock, agent):
    issued = clock.now()
    members.login(app, agent.login, STAFF_PASSWORD, "10.0.0.5", OFFICE)
    clock.advance(minutes=3)
    for other in (THIEF, SAME_IP_OTHER_BROWSER):
        with pytest.raises(SessionInvalid, match="другого устройства или браузера"):
            members.resume_from_cookie(app, agent.login, issued, other)
    assert _journal(app, "staff.cookie_refused") == [{"reason": "client_changed"}] * 2
    resumed = members.resume_from_cookie(app, agent.login, issued, OFFICE)
    assert resumed.actor == agent
    with app.uow(write=False) as uow:
        assert uow.session.scalars(select(StaffSession.client_hash).where(
            StaffSession.staff_id == agent.staff_id)).all() == [OFFICE, OFFICE]


def test_a_cookie_of_no_password_login_of_that_time_is_refused(app, clock, agent):
    members.login(app, agent.login, STAFF_PASSWORD, "10.0.0.5", OFFICE)
    clock.advance(minutes=10)
    forged_issue = clock.now()  # no login then: not a cookie this member was given
    with pytest.raises(SessionInvalid):
        members.resume_from_cookie(app, agent.login, forged_issue, OFFICE)


def test_a_session_used_from_another_client_ends(app, clock, agent):
    token = members.login(app, agent.login, STAFF_PASSWORD, "10.0.0.5", OFFICE).session_token
    assert members.check_session(app, token, OFFICE) == agent
    with pytest.raises(SessionInvalid, match="другого устройства или браузера"):
        members.check_session(app, token, THIEF)
    # Ended for the office too: whoever holds it, it is over; a password opens a new one.
    with pytest.raises(SessionInvalid):
        members.check_session(app, token, OFFICE)
    assert _journal(app, "staff.session_moved") == [{"reason": "client_changed"}]
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(StaffSession.end_reason).where(
            StaffSession.staff_id == agent.staff_id)) == "client_changed"


def test_callers_that_know_no_client_are_not_bound(app, clock, agent):
    # The CLI and services called without a browser: nothing to compare, nothing refused.
    issued = clock.now()
    token = members.login(app, agent.login, STAFF_PASSWORD).session_token
    assert members.check_session(app, token) == agent
    assert members.check_session(app, token, OFFICE) == agent  # the session has no client
    assert members.resume_from_cookie(app, agent.login, issued).actor == agent
