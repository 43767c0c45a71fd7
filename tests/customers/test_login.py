"""Customer login, lockout, sessions, blocking and password change."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db.models import Customer, CustomerSession
from core.customers.errors import (CabinetBlocked, LoginFailed, NotActivated, SessionInvalid,
                                   WrongPassword)
from core.security.errors import LoginLocked
from core.errors import ValidationError
from core.customers import contact_center, cabinet
from core.timefmt import format_datetime_msk
from tests.factories.customers import PASSWORD, make_staff, register, register_and_activate
from tests.factories.dbstate import snapshot

PHONE = "+7 912 345-67-89"
EMAIL = "Maria@Example.RU"
NEW_PASSWORD = "Nw5pass7word"


@pytest.fixture
def active(app):
    return register_and_activate(app, phone=PHONE, email=EMAIL)


def _assert_token_refused(app, token):
    with pytest.raises((SessionInvalid, CabinetBlocked)):
        cabinet.current_customer_id(app, token)


@pytest.mark.parametrize("login_name", [
    "+79123456789", "+7 (912) 345-67-89", "8 912 345 67 89", "89123456789", "9123456789",
    "maria@example.ru", "MARIA@EXAMPLE.RU", " Maria@Example.ru ",
])
def test_login_by_phone_in_any_format_and_email_in_any_case(app, active, login_name):
    result = cabinet.login(app, login_name, PASSWORD)
    assert result.customer_id == active.customer_id
    assert cabinet.current_customer_id(app, result.session_token) == active.customer_id


@pytest.mark.parametrize("login_name, password", [
    (PHONE, "Wrong1pass"), (EMAIL, PASSWORD.lower()), ("+7 999 000-00-00", PASSWORD),
    ("nobody@example.ru", PASSWORD), ("ivan", PASSWORD),
])
def test_wrong_password_and_unknown_login_answer_identically(app, active, login_name, password):
    with pytest.raises(LoginFailed) as error:
        cabinet.login(app, login_name, password)
    assert str(error.value) == "Неверный логин или пароль"


@pytest.mark.parametrize("login_name, password", [("", PASSWORD), (PHONE, ""), ("   ", "")])
def test_empty_login_or_password_fails_without_changing_anything(app, active, login_name,
                                                                  password):
    before = snapshot(app)
    with pytest.raises(LoginFailed):
        cabinet.login(app, login_name, password)
    assert snapshot(app) == before


def test_five_failures_lock_the_login_for_thirty_minutes(app, clock, active):
    for _ in range(5):
        with pytest.raises(LoginFailed):
            cabinet.login(app, PHONE, "Wrong1pass")
    until = format_datetime_msk(clock.now() + timedelta(minutes=30))
    with pytest.raises(LoginLocked) as error:
        cabinet.login(app, "89123456789", PASSWORD)  # even the right password
    assert until in str(error.value) and "до" in str(error.value)
    clock.advance(minutes=29, seconds=59)
    with pytest.raises(LoginLocked):
        cabinet.login(app, PHONE, PASSWORD)
    clock.advance(seconds=1)
    assert cabinet.login(app, PHONE, PASSWORD).customer_id == active.customer_id


def test_success_resets_the_failure_count(app, active):
    for _ in range(4):
        with pytest.raises(LoginFailed):
            cabinet.login(app, PHONE, "Wrong1pass")
    cabinet.login(app, PHONE, PASSWORD)
    for _ in range(4):
        with pytest.raises(LoginFailed):
            cabinet.login(app, PHONE, "Wrong1pass")
    cabinet.login(app, PHONE, PASSWORD)


@pytest.mark.parametrize("unknown", ["+7 999 000-00-00", "ghost@example.ru"])
def test_unknown_login_is_locked_the_same_way(app, unknown):
    for _ in range(5):
        with pytest.raises(LoginFailed):
            cabinet.login(app, unknown, PASSWORD)
    with pytest.raises(LoginLocked, match="Вход заблокирован до"):
        cabinet.login(app, unknown, PASSWORD)


def test_not_activated_cabinet_cannot_log_in(app):
    register(app, phone=PHONE)
    with pytest.raises(NotActivated) as error:
        cabinet.login(app, PHONE, PASSWORD)
    assert "не активирован" in str(error.value)


def test_blocked_cabinet_cannot_log_in_and_is_told_whom_to_call(app, active):
    cabinet.block_own_cabinet(app, active.session_token, "Потерял телефон")
    with pytest.raises(CabinetBlocked) as error:
        cabinet.login(app, PHONE, PASSWORD)
    assert "8 800 100 39 00" in str(error.value)


def test_blocking_by_the_customer_ends_every_session(app, active):
    second = cabinet.login(app, EMAIL, PASSWORD)
    cabinet.block_own_cabinet(app, active.session_token, "Потерял телефон")
    _assert_token_refused(app, active.session_token)
    _assert_token_refused(app, second.session_token)
    with app.uow(write=False) as uow:
        reasons = uow.session.scalars(select(CustomerSession.end_reason)).all()
    assert reasons == ["blocked", "blocked"]


def test_blocking_by_staff_ends_every_session(app, active):
    second = cabinet.login(app, PHONE, PASSWORD)
    agent = make_staff(app)
    contact_center.block(app, agent, active.customer_id, "Звонок о мошенничестве")
    _assert_token_refused(app, active.session_token)
    _assert_token_refused(app, second.session_token)


def test_block_own_cabinet_needs_a_reason_and_changes_nothing_without_one(app, active):
    before = snapshot(app)
    with pytest.raises(ValidationError, match="^Причина блокировки:"):
        cabinet.block_own_cabinet(app, active.session_token, "   ")
    assert snapshot(app) == before


def test_logout_ends_only_that_session(app, active):
    other = cabinet.login(app, PHONE, PASSWORD)
    cabinet.logout(app, active.session_token)
    with pytest.raises(SessionInvalid):
        cabinet.current_customer_id(app, active.session_token)
    assert cabinet.current_customer_id(app, other.session_token) == active.customer_id


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 10_000])
def test_unknown_session_token_is_refused(app, active, token):
    with pytest.raises(SessionInvalid):
        cabinet.current_customer_id(app, token)


def test_change_password_with_wrong_old_password_changes_nothing(app, active):
    before = snapshot(app)
    with pytest.raises(WrongPassword) as error:
        cabinet.change_password(app, active.session_token, "Wrong1pass", NEW_PASSWORD)
    assert str(error.value).startswith("Текущий пароль:")
    assert snapshot(app) == before
    assert cabinet.current_customer_id(app, active.session_token) == active.customer_id


def test_change_password_ends_old_sessions_and_returns_a_working_one(app, active):
    other = cabinet.login(app, EMAIL, PASSWORD)
    fresh = cabinet.change_password(app, active.session_token, PASSWORD, NEW_PASSWORD)
    _assert_token_refused(app, active.session_token)
    _assert_token_refused(app, other.session_token)
    assert cabinet.current_customer_id(app, fresh) == active.customer_id
    with pytest.raises(LoginFailed):
        cabinet.login(app, PHONE, PASSWORD)
    assert cabinet.login(app, PHONE, NEW_PASSWORD).customer_id == active.customer_id
    with app.uow(write=False) as uow:
        stored = uow.session.get(Customer, active.customer_id).password_hash
    assert app.customer_hasher.verify(stored, NEW_PASSWORD)


@pytest.mark.parametrize("new_password", [
    "abc", "abcde", "пароль123", "abc 123", "qwerty123", "a1" * 65, PASSWORD,
])
def test_new_password_is_validated_like_registration(app, active, new_password):
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        cabinet.change_password(app, active.session_token, PASSWORD, new_password)
    assert str(error.value).startswith("Новый пароль:")
    assert snapshot(app) == before


def test_a_customer_session_ends_after_30_idle_minutes(app, clock, active):
    clock.advance(minutes=29)
    assert cabinet.current_customer_id(app, active.session_token) == active.customer_id
    clock.advance(minutes=31)  # 31 minutes since the last use
    with pytest.raises(SessionInvalid, match="30 минут бездействия"):
        cabinet.current_customer_id(app, active.session_token)
    with app.uow(write=False) as uow:
        row = uow.session.scalar(select(CustomerSession).where(
            CustomerSession.customer_id == active.customer_id))
    assert row.end_reason == "idle" and row.ended_at is not None


def test_an_idle_session_refuses_every_use_case_and_is_ended_by_the_cabinet_check(
        app, clock, active):
    """The session check of a use case never commits the caller's unit of work: a read-only
    use case on an idle session is refused and writes nothing; the cabinet's own page check
    (``current_customer_id``) is the one that records the end, in its own transaction."""
    from core.billing import invoices
    from core.customers.errors import SessionExpired
    from core.customers.sessions import signed_in_customer

    clock.advance(minutes=31)
    before = snapshot(app)
    with pytest.raises(SessionInvalid, match="30 минут бездействия"):
        invoices.invoices_to_pay(app, active.session_token)
    assert snapshot(app) == before
    with app.uow(write=False) as uow, pytest.raises(SessionExpired):
        signed_in_customer(uow.session, active.session_token, app.now())
    assert snapshot(app) == before
    with pytest.raises(SessionExpired):
        cabinet.current_customer_id(app, active.session_token)
    with app.uow(write=False) as uow:
        row = uow.session.scalar(select(CustomerSession).where(
            CustomerSession.customer_id == active.customer_id))
    assert (row.end_reason, row.ended_at) == ("idle", app.now())
    with pytest.raises(SessionInvalid, match="^Сеанс завершён, войдите снова$"):
        invoices.invoices_to_pay(app, active.session_token)
