"""Activation of a cabinet with the 4-digit SMS code."""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db.models import ActivationCode, Customer, OutboxMessage
from core.notifications.channels import MessageStatus
from core.customers.errors import AlreadyActivated
from core.security.errors import (ActivationLocked, AttemptsExceeded, CodeExpired, CodeInvalid,
                                  ResendTooSoon, SendLimitReached)
from core.errors import ValidationError
from core.customers import cabinet
from core.notifications import outbox
from tests.factories.customers import register, sms_codes
from tests.factories.dbstate import other_code, snapshot


def _activated_at(app, customer_id):
    with app.uow(write=False) as uow:
        return uow.session.get(Customer, customer_id).activated_at


def _new_code(app, clock, customer_id, differing_from):
    """Ask for a code again (after the 60 s pause) until it differs from the given one."""
    while True:
        clock.advance(seconds=60)
        cabinet.request_activation_code(app, customer_id)
        code = sms_codes(app)[-1]
        if code != differing_from:
            return code


def test_right_code_activates_and_returns_a_working_session(app, clock):
    customer_id = register(app)
    clock.advance(minutes=3)
    result = cabinet.activate(app, customer_id, sms_codes(app)[-1])
    assert result.customer_id == customer_id
    assert _activated_at(app, customer_id) == clock.now()
    assert cabinet.current_customer_id(app, result.session_token) == customer_id


def test_code_with_spaces_around_is_accepted(app):
    customer_id = register(app)
    cabinet.activate(app, customer_id, f"  {sms_codes(app)[-1]} ")
    assert _activated_at(app, customer_id) is not None


def test_wrong_activation_code_five_times_voids_it(app, clock):
    customer_id = register(app)
    code = sms_codes(app)[-1]
    wrong = other_code(code)
    attempts_left = []
    for _ in range(4):
        with pytest.raises(CodeInvalid) as error:
            cabinet.activate(app, customer_id, wrong)
        assert str(error.value).startswith("Код активации:")
        attempts_left.append(error.value.attempts_left)
    assert attempts_left == [4, 3, 2, 1]
    with pytest.raises(AttemptsExceeded):
        cabinet.activate(app, customer_id, wrong)
    with pytest.raises(AttemptsExceeded):
        cabinet.activate(app, customer_id, code)
    assert _activated_at(app, customer_id) is None
    with app.uow(write=False) as uow:
        row = uow.session.scalars(select(ActivationCode)).one()
        assert (row.attempts, row.voided_at, row.used_at) == (5, clock.now(), None)


def test_a_new_code_works_after_the_old_one_was_voided(app, clock):
    customer_id = register(app)
    code = sms_codes(app)[-1]
    for _ in range(5):
        with pytest.raises((CodeInvalid, AttemptsExceeded)):
            cabinet.activate(app, customer_id, other_code(code))
    cabinet.activate(app, customer_id, _new_code(app, clock, customer_id, code))
    assert _activated_at(app, customer_id) is not None


def test_code_still_works_just_before_ten_minutes(app, clock):
    customer_id = register(app)
    clock.advance(minutes=9, seconds=59)
    cabinet.activate(app, customer_id, sms_codes(app)[-1])
    assert _activated_at(app, customer_id) is not None


def test_code_expires_after_ten_minutes(app, clock):
    customer_id = register(app)
    code = sms_codes(app)[-1]
    clock.advance(minutes=10, seconds=1)
    with pytest.raises(CodeExpired) as error:
        cabinet.activate(app, customer_id, code)
    assert str(error.value).startswith("Код активации:")
    assert _activated_at(app, customer_id) is None


def test_used_code_entered_again_says_the_cabinet_is_already_active(app):
    customer_id = register(app)
    code = sms_codes(app)[-1]
    cabinet.activate(app, customer_id, code)
    before = snapshot(app)
    with pytest.raises(AlreadyActivated):
        cabinet.activate(app, customer_id, code)
    with pytest.raises(AlreadyActivated):
        cabinet.request_activation_code(app, customer_id)
    assert snapshot(app) == before


def test_new_code_within_sixty_seconds_is_refused_and_changes_nothing(app, clock):
    customer_id = register(app)
    sms_codes(app)
    clock.advance(seconds=59)
    before = snapshot(app)
    with pytest.raises(ResendTooSoon) as error:
        cabinet.request_activation_code(app, customer_id)
    assert str(error.value).startswith("Код активации:")
    assert snapshot(app) == before


def test_resend_pause_reports_the_exact_seconds_left(app, clock):
    customer_id = register(app)
    with pytest.raises(ResendTooSoon) as error:
        cabinet.request_activation_code(app, customer_id)
    assert error.value.seconds_left == 60
    clock.advance(seconds=45)
    with pytest.raises(ResendTooSoon) as error:
        cabinet.request_activation_code(app, customer_id)
    assert error.value.seconds_left == 15


def test_after_sixty_seconds_a_new_code_works_and_the_old_one_does_not(app, clock):
    customer_id = register(app)
    old = sms_codes(app)[-1]
    new = _new_code(app, clock, customer_id, old)
    with pytest.raises(CodeInvalid):
        cabinet.activate(app, customer_id, old)
    cabinet.activate(app, customer_id, new)
    assert _activated_at(app, customer_id) is not None
    with app.uow(write=False) as uow:
        rows = uow.session.scalars(select(ActivationCode).order_by(ActivationCode.id)).all()
        assert [r.voided_at is not None for r in rows[:-1]] == [True] * (len(rows) - 1)
        assert rows[-1].used_at is not None


def test_code_of_customer_a_does_not_activate_customer_b(app, clock):
    customer_a = register(app)
    code_a = sms_codes(app)[-1]
    customer_b = register(app)
    code_b = sms_codes(app)[-1]
    if code_b == code_a:
        code_b = _new_code(app, clock, customer_b, code_a)
    with pytest.raises(CodeInvalid):
        cabinet.activate(app, customer_b, code_a)
    assert _activated_at(app, customer_b) is None
    assert _activated_at(app, customer_a) is None
    cabinet.activate(app, customer_b, code_b)


@pytest.mark.parametrize("entered", ["12a4", "12345", "", "123", "    ", "12 34", "-123"])
def test_code_that_is_not_four_digits_is_refused_and_not_counted(app, entered):
    customer_id = register(app)
    sms_codes(app)
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        cabinet.activate(app, customer_id, entered)
    assert str(error.value).startswith("Код активации:")
    assert snapshot(app) == before


def test_sent_sms_is_redacted_in_the_outbox_but_clear_on_the_phone(app):
    customer_id = register(app)
    with app.uow(write=False) as uow:
        queued = uow.session.scalars(select(OutboxMessage)).one()
        display_before_sending, body_before_sending = queued.display_body, queued.body
    assert "****" in display_before_sending
    outbox.send_pending(app)
    sink = (app.settings.notify_log_dir / "sms.log").read_text("utf-8")
    code = sms_codes(app)[-1]
    assert code in body_before_sending and code not in display_before_sending
    assert f"Код активации личного кабинета: {code}" in sink
    with app.uow(write=False) as uow:
        sent = uow.session.scalars(select(OutboxMessage)).one()
        assert sent.status is MessageStatus.SENT
        assert code not in sent.body and "****" in sent.body
        assert sent.customer_id == customer_id


def test_activation_code_never_reaches_the_application_log(app, caplog):
    caplog.set_level(logging.DEBUG)
    customer_id = register(app)
    outbox.send_pending(app)
    code = sms_codes(app)[-1]
    with pytest.raises(CodeInvalid):
        cabinet.activate(app, customer_id, other_code(code))
    cabinet.activate(app, customer_id, code)
    messages = [record.getMessage() for record in caplog.records]
    assert messages, "expected at least the sender's log lines"
    assert [m for m in messages if code in m] == []


@pytest.mark.parametrize("code", ["１２３４", "١٢٣٤"])
def test_non_ascii_digits_are_refused_as_input_not_counted_as_attempts(app, code):
    customer_id = register(app)
    with pytest.raises(ValidationError, match="^Код активации: введите 4 цифры"):
        cabinet.activate(app, customer_id, code)
    with app.uow(write=False) as uow:
        row = uow.session.scalar(select(ActivationCode).where(
            ActivationCode.customer_id == customer_id))
    assert row.attempts == 0


def _move_to(clock, moment):
    clock.advance(seconds=(moment - clock.now()).total_seconds())


def _wrong_entries(app, customer_id, code, times):
    for _ in range(times):
        with pytest.raises((CodeInvalid, AttemptsExceeded)):
            cabinet.activate(app, customer_id, other_code(code))


def test_wrong_codes_across_new_codes_lock_activation_for_the_rest_of_the_day(app, clock):
    # 5 wrong entries per code and a new code each minute were thousands of guesses a day.
    customer_id = register(app)
    first_sent = clock.now()
    code = sms_codes(app)[-1]
    _wrong_entries(app, customer_id, code, 5)
    code = _new_code(app, clock, customer_id, code)
    _wrong_entries(app, customer_id, code, 3)
    with pytest.raises(CodeInvalid) as error:
        cabinet.activate(app, customer_id, other_code(code))
    assert error.value.attempts_left == 1  # the day's cap, not the code's 5
    with pytest.raises(ActivationLocked) as error:
        cabinet.activate(app, customer_id, other_code(code))
    # The first code's entries leave the 24-hour count at 09:00 UTC next day: 12:00 MSK.
    assert str(error.value) == ("Код активации: слишком много неверных кодов, "
                                "попробуйте после 26.11.2026 12:00 (МСК)")
    sms_before = len(sms_codes(app))
    before = snapshot(app)
    with pytest.raises(ActivationLocked):
        cabinet.activate(app, customer_id, code)  # even the right code
    clock.advance(minutes=5)
    with pytest.raises(ActivationLocked):
        cabinet.request_activation_code(app, customer_id)  # no SMS for a locked cabinet
    assert snapshot(app) == before and len(sms_codes(app)) == sms_before
    _move_to(clock, first_sent + timedelta(hours=24))
    cabinet.activate(app, customer_id, _new_code(app, clock, customer_id, code))
    assert _activated_at(app, customer_id) is not None


def test_codes_sent_to_a_phone_are_capped_per_day(app, clock, agent):
    from core.customers import contact_center

    customer_id = register(app)
    first_sent = clock.now()
    for _ in range(4):
        clock.advance(seconds=60)
        cabinet.request_activation_code(app, customer_id)
    assert len(sms_codes(app)) == 5
    clock.advance(minutes=30)
    before = snapshot(app)
    with pytest.raises(SendLimitReached) as error:
        cabinet.request_activation_code(app, customer_id)
    assert str(error.value) == ("Код активации: за сутки отправлено 5 SMS с кодом, новый код "
                                "можно запросить после 26.11.2026 12:00 (МСК)")
    with pytest.raises(SendLimitReached):
        contact_center.resend_activation_code(app, agent, customer_id)  # nor by an agent
    assert snapshot(app) == before and len(sms_codes(app)) == 5
    _move_to(clock, first_sent + timedelta(hours=24))
    cabinet.request_activation_code(app, customer_id)
    assert len(sms_codes(app)) == 6


def test_activation_caps_come_from_the_settings(app, clock):
    app.settings = replace(app.settings, activation_wrong_codes_per_day=3,
                           activation_sms_per_day=2)
    customer_id = register(app)
    code = sms_codes(app)[-1]
    _wrong_entries(app, customer_id, code, 2)
    with pytest.raises(ActivationLocked):
        cabinet.activate(app, customer_id, other_code(code))
    other = register(app)
    clock.advance(seconds=60)
    cabinet.request_activation_code(app, other)
    clock.advance(seconds=60)
    with pytest.raises(SendLimitReached, match="отправлено 2 SMS"):
        cabinet.request_activation_code(app, other)
