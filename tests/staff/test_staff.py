"""Staff accounts, dashboard logins and server-side staff sessions."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, StaffUser
from core.actors import PermissionDenied, StaffRole
from core.customers.errors import LoginFailed, SessionInvalid
from core.security.errors import LoginLocked
from core.staff.errors import StaffLoginTaken
from core.errors import ValidationError
from core.staff import members
from tests.factories.customers import STAFF_PASSWORD, make_staff
from tests.factories.dbstate import snapshot

NEW_STAFF_PASSWORD = "Other-pass-2027"


def _add(app, actor=None, **overrides):
    data = dict(login="operator1", name="Иванова Анна", email="anna@office.example.ru",
                role=StaffRole.AGENT, password=STAFF_PASSWORD)
    data.update(overrides)
    return members.add_staff(app, actor, **data)


@pytest.fixture
def agent(app):
    return make_staff(app, StaffRole.AGENT, login="agent.one")


@pytest.fixture
def admin(app):
    return make_staff(app, StaffRole.ADMIN, login="boss")


def _refused(app, token):
    with pytest.raises(SessionInvalid):
        members.check_session(app, token)


@pytest.mark.parametrize("overrides, label", [
    pytest.param({"login": "ab"}, "Логин:", id="login-too-short"),
    pytest.param({"login": "Иванова"}, "Логин:", id="login-cyrillic"),
    pytest.param({"login": "-anna"}, "Логин:", id="login-starts-with-dash"),
    pytest.param({"login": "anna ivanova"}, "Логин:", id="login-space"),
    pytest.param({"login": "a" * 51}, "Логин:", id="login-too-long"),
    pytest.param({"login": ""}, "Логин:", id="login-empty"),
    pytest.param({"password": "Short-1"}, "Пароль:", id="password-short"),
    pytest.param({"password": "onlyletters"}, "Пароль:", id="password-letters-only"),
    pytest.param({"password": "1234567890"}, "Пароль:", id="password-digits-only"),
    pytest.param({"password": "Ж1" * 30}, "Пароль:", id="password-over-72-bytes"),
    pytest.param({"name": "  "}, "ФИО:", id="name-empty"),
    pytest.param({"email": "anna.office"}, "E-mail:", id="email-without-at"),
])
def test_bad_staff_account_is_refused_naming_the_field(app, overrides, label):
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        _add(app, **overrides)
    assert str(error.value).startswith(label)
    assert snapshot(app) == before


def test_duplicate_staff_login_is_taken_in_any_case(app):
    _add(app, login="operator1")
    before = snapshot(app)
    with pytest.raises(StaffLoginTaken, match="^Логин:"):
        _add(app, login="  OPERATOR1 ")
    assert snapshot(app) == before


def test_staff_login_opens_a_session_that_check_session_accepts(app, agent):
    result = members.login(app, "Agent.One", STAFF_PASSWORD)
    assert result.actor == agent
    assert members.check_session(app, result.session_token) == agent


@pytest.mark.parametrize("login_name, password", [
    ("agent.one", "Wrong-pass-2026"), ("nobody", STAFF_PASSWORD), ("agent.one", ""),
])
def test_failed_staff_login_is_refused_and_audited(app, agent, login_name, password):
    with pytest.raises(LoginFailed, match="^Неверный логин или пароль$"):
        members.login(app, login_name, password)
    with app.uow(write=False) as uow:
        rows = [(e.action, e.result, e.actor_label) for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "staff.login_failed"))]
    assert rows == [("staff.login_failed", "refused", login_name)]


@pytest.mark.parametrize("login_name", ["agent.one", "nobody"])
def test_five_staff_login_failures_lock_for_thirty_minutes(app, clock, agent, login_name):
    for _ in range(5):
        with pytest.raises(LoginFailed):
            members.login(app, login_name, "Wrong-pass-2026")
    with pytest.raises(LoginLocked, match="Вход заблокирован до"):
        members.login(app, login_name, STAFF_PASSWORD)
    clock.advance(minutes=29)
    with pytest.raises(LoginLocked):
        members.login(app, login_name, STAFF_PASSWORD)
    clock.advance(minutes=1)
    if login_name == "agent.one":
        assert members.login(app, login_name, STAFF_PASSWORD).actor == agent


def test_logout_ends_every_session_of_that_staff_member(app, clock, agent):
    first = members.login(app, "agent.one", STAFF_PASSWORD).session_token
    second = members.login(app, "agent.one", STAFF_PASSWORD).session_token
    other = make_staff(app, StaffRole.MANAGER, login="boss")  # a role with no second factor
    someone_else = members.login(app, "boss", STAFF_PASSWORD).session_token
    clock.advance(minutes=1)
    members.logout(app, first)
    _refused(app, first)
    _refused(app, second)
    assert members.check_session(app, someone_else) == other


@pytest.mark.parametrize("change", ["password", "role", "deactivate"])
def test_session_ends_when_the_account_changes(app, clock, agent, admin, change):
    token = members.login(app, "agent.one", STAFF_PASSWORD).session_token
    clock.advance(minutes=1)
    if change == "password":
        members.change_password(app, admin, agent.staff_id, NEW_STAFF_PASSWORD)
    elif change == "role":
        members.change_role(app, admin, agent.staff_id, StaffRole.FINANCE)
    else:
        members.set_active(app, admin, agent.staff_id, False)
    _refused(app, token)


def test_deactivated_staff_cannot_log_in(app, agent, admin):
    members.set_active(app, admin, agent.staff_id, False)
    with pytest.raises(LoginFailed):
        members.login(app, "agent.one", STAFF_PASSWORD)


def test_session_ends_after_fifteen_minutes_idle(app, clock, agent):
    token = members.login(app, "agent.one", STAFF_PASSWORD).session_token
    clock.advance(minutes=16)
    with pytest.raises(SessionInvalid, match="15 минут"):
        members.check_session(app, token)
    clock.advance(seconds=1)
    _refused(app, token)


def test_session_used_every_ten_minutes_stays_alive_for_an_hour(app, clock, agent):
    token = members.login(app, "agent.one", STAFF_PASSWORD).session_token
    for _ in range(6):
        clock.advance(minutes=10)
        assert members.check_session(app, token) == agent


def test_cookie_issued_before_logout_is_refused(app, clock, agent):
    issued = clock.now()
    token = members.login(app, "agent.one", STAFF_PASSWORD).session_token
    clock.advance(minutes=1)
    members.logout(app, token)
    clock.advance(minutes=1)
    with pytest.raises(SessionInvalid):
        members.resume_from_cookie(app, "agent.one", issued)


def test_cookie_issued_at_login_of_a_recently_active_staff_is_accepted(app, clock, agent):
    issued = clock.now()
    members.login(app, "agent.one", STAFF_PASSWORD)
    clock.advance(minutes=10)
    resumed = members.resume_from_cookie(app, "agent.one", issued)
    assert resumed.actor == agent
    assert members.check_session(app, resumed.session_token) == agent


def test_cookie_is_refused_for_a_deactivated_staff_member(app, clock, agent, admin):
    issued = clock.now()
    members.login(app, "agent.one", STAFF_PASSWORD)
    members.set_active(app, admin, agent.staff_id, False)
    members.set_active(app, admin, agent.staff_id, True)
    with pytest.raises(SessionInvalid):
        members.resume_from_cookie(app, "agent.one", issued - timedelta(seconds=1))
    members.set_active(app, admin, agent.staff_id, False)
    with pytest.raises(SessionInvalid, match="отключена"):
        members.resume_from_cookie(app, "agent.one", clock.now() + timedelta(seconds=1))


def test_cookie_is_refused_after_fifteen_minutes_idle(app, clock, agent):
    issued = clock.now()
    members.login(app, "agent.one", STAFF_PASSWORD)
    clock.advance(minutes=15, seconds=1)
    before = snapshot(app)
    with pytest.raises(SessionInvalid, match="бездействия"):
        members.resume_from_cookie(app, "agent.one", issued)
    assert snapshot(app) == before


def test_non_admin_cannot_manage_staff(app, agent):
    other = make_staff(app, StaffRole.FINANCE)
    before = snapshot(app)
    for call in (
        lambda: _add(app, agent, login="newbie"),
        lambda: members.change_role(app, agent, other.staff_id, StaffRole.ADMIN),
        lambda: members.change_role(app, agent, agent.staff_id, StaffRole.ADMIN),
        lambda: members.set_active(app, agent, other.staff_id, False),
        lambda: members.change_password(app, agent, other.staff_id, NEW_STAFF_PASSWORD),
        lambda: members.list_staff(app, agent),
    ):
        with pytest.raises(PermissionDenied, match="^Недостаточно прав"):
            call()
    assert snapshot(app) == before


def test_staff_member_may_change_own_password(app, agent):
    members.change_password(app, agent, agent.staff_id, NEW_STAFF_PASSWORD)
    with pytest.raises(LoginFailed):
        members.login(app, "agent.one", STAFF_PASSWORD)
    assert members.login(app, "agent.one", NEW_STAFF_PASSWORD).actor == agent


def test_admin_adds_staff_and_changes_roles(app, admin):
    new_id = _add(app, admin, login="Finance.Two", role=StaffRole.FINANCE)
    members.change_role(app, admin, new_id, StaffRole.AGENT)
    with app.uow(write=False) as uow:
        row = uow.session.get(StaffUser, new_id)
        assert (row.login, row.role, row.is_active) == ("finance.two", StaffRole.AGENT, True)
        actions = uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.staff_id == admin.staff_id).order_by(AuditEntry.id)).all()
    assert actions == ["staff.add", "staff.role_change"]
    with pytest.raises(ValidationError, match="^Роль:"):
        members.change_role(app, admin, new_id, StaffRole.AGENT)
    with pytest.raises(ValidationError, match="^Сотрудник:"):
        members.set_active(app, admin, admin.staff_id, False)
