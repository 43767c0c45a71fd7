"""Back to the activation step from the login form (``resume_activation``): a customer who
registered but lost the page before typing the SMS code gives the phone and the password and
gets a fresh code for their cabinet; the password is checked as on login, the code's caps hold.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from core import customer_api as api
from core.customers import cabinet
from core.customers.errors import AlreadyActivated, CabinetBlocked, LoginFailed
from core.db.models import Customer, CustomerSession
from core.security.errors import ActivationLocked, LoginLocked, SendLimitReached
from tests.factories.customers import PASSWORD, register, register_and_activate, sms_codes
from tests.factories.dbstate import other_code, snapshot

PHONE = "+7 912 345-67-89"
EMAIL = "Maria@Example.RU"


def _activated_at(app, customer_id):
    with app.uow(write=False) as uow:
        return uow.session.get(Customer, customer_id).activated_at


def _sessions(app) -> int:
    with app.uow(write=False) as uow:
        return len(uow.session.scalars(select(CustomerSession.id)).all())


@pytest.fixture
def pending(app):
    """A cabinet registered a while ago whose SMS code was never typed."""
    customer_id = register(app, phone=PHONE, email=EMAIL)
    sms_codes(app)
    return customer_id


@pytest.mark.parametrize("login_name", ["8 912 345 67 89", "+79123456789", "maria@example.ru"])
def test_the_right_password_sends_a_fresh_code_that_activates_the_cabinet(
        app, clock, pending, login_name):
    first = sms_codes(app)[-1]
    clock.advance(minutes=5)
    found = api.resume_activation(app, login_name, PASSWORD)
    assert found == api.PendingActivation(pending, "+79123456789", "maria@example.ru", True)
    codes = sms_codes(app)
    assert len(codes) == 2
    if codes[-1] != first:  # the registration's code is void once a new one goes
        with pytest.raises(api.DomainError):
            api.activate(app, found.customer_id, first)
    login = api.activate(app, found.customer_id, codes[-1])
    assert login.customer_id == pending and _activated_at(app, pending) == clock.now()
    assert api.current_customer_id(app, login.session_token) == pending


def test_within_the_minute_after_registering_the_sent_code_is_the_one_to_type(app, pending):
    found = api.resume_activation(app, PHONE, PASSWORD)
    assert found.customer_id == pending and found.code_sent is False
    assert len(sms_codes(app)) == 1  # no second SMS inside the resend pause
    api.activate(app, pending, sms_codes(app)[-1])
    assert _activated_at(app, pending) is not None


@pytest.mark.parametrize("login_name, password", [
    (PHONE, "Wrong1pass"), ("+7 999 000-00-00", PASSWORD), ("ghost@example.ru", PASSWORD),
    ("ivan", PASSWORD),
])
def test_a_wrong_password_or_unknown_login_gets_the_logins_refusal_and_no_sms(
        app, clock, pending, login_name, password):
    clock.advance(minutes=5)
    before = sms_codes(app)
    with pytest.raises(LoginFailed) as error:
        api.resume_activation(app, login_name, password)
    assert str(error.value) == "Неверный логин или пароль"
    assert sms_codes(app) == before and _activated_at(app, pending) is None


@pytest.mark.parametrize("login_name", [PHONE, "+7 999 000-00-00"])
def test_failures_count_toward_the_logins_lockout_together_with_login(app, clock, pending,
                                                                      login_name):
    clock.advance(minutes=5)
    for _ in range(3):
        with pytest.raises(LoginFailed):
            api.resume_activation(app, login_name, "Wrong1pass")
    for _ in range(2):
        with pytest.raises(LoginFailed):
            api.login(app, login_name, "Wrong1pass")
    before = snapshot(app)
    with pytest.raises(LoginLocked, match="Вход заблокирован до"):
        api.resume_activation(app, login_name, PASSWORD)  # for PHONE, the right password
    with pytest.raises(LoginLocked):
        api.login(app, login_name, PASSWORD)
    assert snapshot(app) == before and len(sms_codes(app)) == 1


def test_the_right_password_ends_the_count_of_failures_as_login_does(app, clock, pending):
    clock.advance(minutes=5)
    for _ in range(4):
        with pytest.raises(LoginFailed):
            api.resume_activation(app, PHONE, "Wrong1pass")
    api.resume_activation(app, PHONE, PASSWORD)
    for _ in range(4):
        with pytest.raises(LoginFailed):
            api.login(app, PHONE, "Wrong1pass")
    with pytest.raises(api.DomainError, match="не активирован"):
        api.login(app, PHONE, PASSWORD)  # not locked: 4 failures since the success


def test_an_active_cabinet_is_not_resumed_and_gets_no_sms(app, clock):
    active = register_and_activate(app, phone=PHONE, email=EMAIL)
    clock.advance(minutes=5)
    sessions, sent = _sessions(app), len(sms_codes(app))
    with pytest.raises(AlreadyActivated):
        api.resume_activation(app, PHONE, PASSWORD)
    assert len(sms_codes(app)) == sent and _sessions(app) == sessions
    assert api.login(app, PHONE, PASSWORD).customer_id == active.customer_id


def test_a_blocked_cabinet_is_told_whom_to_call_and_gets_no_sms(app, clock, pending, agent):
    from core.customers import contact_center

    contact_center.block(app, agent, pending, "Звонок о мошенничестве")
    clock.advance(minutes=5)
    with pytest.raises(CabinetBlocked, match="8 800 100 39 00"):
        api.resume_activation(app, PHONE, PASSWORD)
    assert len(sms_codes(app)) == 1


def test_the_day_cap_on_codes_sent_to_a_phone_holds(app, clock, pending):
    app.settings = replace(app.settings, activation_sms_per_day=3)
    for _ in range(2):
        clock.advance(minutes=2)
        assert api.resume_activation(app, PHONE, PASSWORD).code_sent
    clock.advance(minutes=2)
    before = snapshot(app)
    with pytest.raises(SendLimitReached, match="отправлено 3 SMS"):
        api.resume_activation(app, PHONE, PASSWORD)
    assert snapshot(app) == before and len(sms_codes(app)) == 3


def test_a_cabinet_locked_for_wrong_codes_gets_no_new_code(app, clock, pending):
    app.settings = replace(app.settings, activation_wrong_codes_per_day=3)
    code = sms_codes(app)[-1]
    for _ in range(2):
        with pytest.raises(api.DomainError):
            cabinet.activate(app, pending, other_code(code))
    with pytest.raises(ActivationLocked):
        cabinet.activate(app, pending, other_code(code))
    clock.advance(minutes=5)
    before = snapshot(app)
    with pytest.raises(ActivationLocked):
        api.resume_activation(app, PHONE, PASSWORD)
    assert snapshot(app) == before and len(sms_codes(app)) == 1
