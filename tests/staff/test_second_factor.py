"""The staff second factor (TOTP and recovery codes) and an administrator's password and
second-factor resets, through the use cases (SQLite and PostgreSQL)."""
from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from core.actors import StaffRole
from core.customers.errors import LoginFailed, SessionInvalid
from core.db.models import AuditEntry, StaffRecoveryCode, StaffSession, StaffUser
from core.errors import ValidationError
from core.security.errors import LoginLocked
from core.staff import members, second_factor, totp
from core.staff.errors import LoginStepPending, SecondFactorFailed
from tests.factories.customers import STAFF_PASSWORD, make_staff
from tests.factories.dbstate import snapshot
from tests.factories.second_factor import enrol, fresh_code, login_fully

NEW_PASSWORD = "Own-pass-2027"


@pytest.fixture
def admin(app):
    return make_staff(app, StaffRole.ADMIN, login="boss")


@pytest.fixture
def finance(app):
    return make_staff(app, StaffRole.FINANCE, login="fin.one")


@pytest.fixture
def agent(app):
    return make_staff(app, StaffRole.AGENT, login="agent.one")


def _actions(app, action):
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                        .order_by(AuditEntry.id)))


def _staff(app, login):
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(StaffUser).where(StaffUser.login == login))


def test_an_admin_without_a_second_factor_opens_nothing_until_enrolled(app, admin):
    started = members.login(app, "boss", STAFF_PASSWORD)
    assert started.pending == "enrol"
    with pytest.raises(LoginStepPending) as pending:
        members.check_session(app, started.session_token)
    assert pending.value.step == "enrol"
    assert not _actions(app, "staff.login")  # the login is not done

    enrolment = second_factor.start_enrolment(app, started.session_token)
    assert len(enrolment.secret) == 32
    assert enrolment.uri.startswith("otpauth://totp/") and "boss" in enrolment.uri
    assert enrolment.qr_png.startswith(b"\x89PNG\r\n")
    stored = _staff(app, "boss")
    assert stored.totp_pending_enc and enrolment.secret not in stored.totp_pending_enc
    with pytest.raises(SecondFactorFailed):
        second_factor.confirm_enrolment(app, started.session_token, "000000")

    codes = second_factor.confirm_enrolment(app, started.session_token,
                                            pyotp.TOTP(enrolment.secret).at(app.now()))
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code) == 11 and code[5] == "-" for code in codes)
    assert members.check_session(app, started.session_token) == admin
    stored = _staff(app, "boss")
    # Encrypted at rest: neither the secret nor a recovery code is in the database.
    assert stored.totp_secret_enc and enrolment.secret not in stored.totp_secret_enc
    assert stored.totp_pending_enc is None
    assert totp.decrypt_secret(b"another-server-key", stored.totp_secret_enc) is None
    with app.uow(write=False) as uow:
        hashes = uow.session.scalars(select(StaffRecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not set(hashes) & {c.replace("-", "") for c in codes}
    assert [e.after for e in _actions(app, "staff.totp_enrol")] == [
        {"login": "boss", "recovery_codes": 10}]
    assert _actions(app, "staff.login")[0].after == {"via": "password", "second_factor": "totp"}


def test_an_enrolled_member_logs_in_with_a_code_and_a_replayed_code_is_refused(
        app, clock, finance):
    secret, _ = enrol(app, "fin.one", STAFF_PASSWORD)
    clock.advance(seconds=60)
    first = members.login(app, "fin.one", STAFF_PASSWORD)
    assert first.pending == "totp"
    with pytest.raises(SecondFactorFailed):
        second_factor.submit_code(app, first.session_token, "123456")
    code = pyotp.TOTP(secret).at(app.now())
    assert second_factor.submit_code(app, first.session_token, code) is None
    assert members.check_session(app, first.session_token) == finance

    second = members.login(app, "fin.one", STAFF_PASSWORD)
    before = snapshot(app)
    with pytest.raises(SecondFactorFailed, match="уже использованный"):
        second_factor.submit_code(app, second.session_token, code)  # the same code again
    with pytest.raises(LoginStepPending):
        members.check_session(app, second.session_token)
    assert [e.result for e in _actions(app, "staff.totp_failed")] == ["refused", "refused"]
    assert snapshot(app).keys() == before.keys()
    clock.advance(seconds=30)
    assert second_factor.submit_code(app, second.session_token,
                                     pyotp.TOTP(secret).at(app.now())) is None


def test_the_right_password_buys_no_fresh_guesses_at_the_code(app, finance):
    enrol(app, "fin.one", STAFF_PASSWORD)
    for attempt in range(5):
        started = members.login(app, "fin.one", STAFF_PASSWORD, "10.0.0.5")
        with pytest.raises(LoginLocked if attempt == 4 else SecondFactorFailed):
            second_factor.submit_code(app, started.session_token, "000000", "10.0.0.5")
    with pytest.raises(LoginLocked):
        members.login(app, "fin.one", STAFF_PASSWORD, "10.0.0.5")


def test_wrong_codes_count_toward_the_login_lockout(app, clock, finance):
    enrol(app, "fin.one", STAFF_PASSWORD)
    for _ in range(2):
        with pytest.raises(LoginFailed):
            members.login(app, "fin.one", "Wrong-pass-2026", "10.0.0.5")
    tokens = []
    for _ in range(2):
        started = members.login(app, "fin.one", STAFF_PASSWORD, "10.0.0.5")
        tokens.append(started.session_token)
        with pytest.raises(SecondFactorFailed):
            second_factor.submit_code(app, started.session_token, "000000", "10.0.0.5")
    started = members.login(app, "fin.one", STAFF_PASSWORD, "10.0.0.5")
    with pytest.raises(LoginLocked, match="Вход заблокирован до"):
        second_factor.submit_code(app, started.session_token, "000000", "10.0.0.5")
    # The fifth failure (two passwords, three codes) locked the login from that address.
    with pytest.raises(SessionInvalid):
        members.check_session(app, started.session_token)
    with pytest.raises(LoginLocked):
        members.login(app, "fin.one", STAFF_PASSWORD, "10.0.0.5")
    with pytest.raises(LoginLocked):  # a pending login from that address is locked too
        second_factor.submit_code(app, tokens[0], fresh_code(app, "fin.one"), "10.0.0.5")
    assert _actions(app, "staff.totp_failed")[-1].after == {
        "address": "10.0.0.5", "locked": ["login_from_address"]}
    clock.advance(minutes=31)
    assert login_fully(app, "fin.one", STAFF_PASSWORD, "10.0.0.5").actor == finance


def test_a_recovery_code_logs_in_once(app, admin):
    _, codes = enrol(app, "boss", STAFF_PASSWORD)
    first = members.login(app, "boss", STAFF_PASSWORD)
    assert second_factor.submit_code(app, first.session_token, codes[3].upper()) is None
    assert members.check_session(app, first.session_token) == admin
    assert _actions(app, "staff.recovery_used")[0].after == {"left": 9}
    again = members.login(app, "boss", STAFF_PASSWORD)
    with pytest.raises(SecondFactorFailed):
        second_factor.submit_code(app, again.session_token, codes[3])
    assert second_factor.submit_code(app, again.session_token, codes[4]) is None


def test_new_recovery_codes_void_the_old_ones(app, clock, admin):
    _, old = enrol(app, "boss", STAFF_PASSWORD)
    clock.advance(seconds=30)
    with pytest.raises(SecondFactorFailed):
        second_factor.regenerate_recovery_codes(app, admin, "000000")
    new = second_factor.regenerate_recovery_codes(app, admin, fresh_code(app, "boss"))
    assert len(new) == 10 and not set(new) & set(old)
    started = members.login(app, "boss", STAFF_PASSWORD)
    with pytest.raises(SecondFactorFailed):
        second_factor.submit_code(app, started.session_token, old[0])
    assert second_factor.submit_code(app, started.session_token, new[0]) is None
    assert second_factor.status(app, admin).recovery_codes_left == 9
    assert len(_actions(app, "staff.recovery_regenerate")) == 1


def test_the_second_factor_is_optional_for_an_agent_who_may_enrol(app, clock, agent):
    plain = members.login(app, "agent.one", STAFF_PASSWORD)
    assert plain.pending is None
    assert members.check_session(app, plain.session_token) == agent
    assert second_factor.status(app, agent).required is False
    enrolment = second_factor.start_enrolment(app, plain.session_token)  # by choice
    second_factor.confirm_enrolment(app, plain.session_token,
                                    pyotp.TOTP(enrolment.secret).at(app.now()))
    assert members.check_session(app, plain.session_token) == agent  # stays open
    clock.advance(seconds=30)
    assert members.login(app, "agent.one", STAFF_PASSWORD).pending == "totp"


def test_admin_reset_gives_a_temporary_password_to_replace_at_first_login(
        app, clock, admin, finance):
    enrol(app, "fin.one", STAFF_PASSWORD)
    clock.advance(seconds=30)
    working = login_fully(app, "fin.one", STAFF_PASSWORD)
    temporary = members.reset_password(app, admin, finance.staff_id)
    assert len(temporary) == 14
    with pytest.raises(SessionInvalid):
        members.check_session(app, working.session_token)
    with pytest.raises(LoginFailed):
        members.login(app, "fin.one", STAFF_PASSWORD)
    clock.advance(seconds=30)
    started = members.login(app, "fin.one", temporary)
    assert started.pending == "totp"  # the second factor first, then the new password
    assert second_factor.submit_code(app, started.session_token,
                                     fresh_code(app, "fin.one")) == "password"
    with pytest.raises(LoginStepPending) as pending:
        members.check_session(app, started.session_token)
    assert pending.value.step == "password"
    with pytest.raises(ValidationError, match="^Новый пароль: должен отличаться"):
        second_factor.change_temporary_password(app, started.session_token, temporary,
                                                temporary)
    with pytest.raises(ValidationError, match="^Повтор пароля"):
        second_factor.change_temporary_password(app, started.session_token, NEW_PASSWORD,
                                                "Other-pass-2028")
    assert _staff(app, "fin.one").must_change_password is True
    assert second_factor.change_temporary_password(app, started.session_token, NEW_PASSWORD,
                                                   NEW_PASSWORD) is None
    assert members.check_session(app, started.session_token) == finance
    assert _staff(app, "fin.one").must_change_password is False
    with pytest.raises(LoginFailed):
        members.login(app, "fin.one", temporary)
    reset = _actions(app, "staff.password_reset")
    assert [(e.staff_id, e.after) for e in reset] == [
        (admin.staff_id, {"login": "fin.one", "temporary": True})]
    assert temporary not in str([(e.before, e.after) for e in _actions(app, "staff.login")])


def test_an_agent_with_a_temporary_password_changes_it_first(app, admin, agent):
    temporary = members.reset_password(app, admin, agent.staff_id)
    started = members.login(app, "agent.one", temporary)
    assert started.pending == "password"
    assert second_factor.change_temporary_password(app, started.session_token, NEW_PASSWORD,
                                                   NEW_PASSWORD) is None
    assert members.login(app, "agent.one", NEW_PASSWORD).pending is None


def test_admin_reset_of_the_second_factor_asks_for_a_new_enrolment(app, clock, admin,
                                                                  finance):
    enrol(app, "fin.one", STAFF_PASSWORD)
    clock.advance(seconds=30)
    working = login_fully(app, "fin.one", STAFF_PASSWORD)
    members.reset_second_factor(app, admin, finance.staff_id)
    with pytest.raises(SessionInvalid, match="двухфакторный вход сотрудника сброшен"):
        members.check_session(app, working.session_token)
    assert members.login(app, "fin.one", STAFF_PASSWORD).pending == "enrol"
    with app.uow(write=False) as uow:
        assert not uow.session.scalars(select(StaffRecoveryCode)).all()
    info = {p.login: p for p in members.list_staff(app, admin)}
    assert info["fin.one"].second_factor is False
    assert [(e.staff_id, e.after) for e in _actions(app, "staff.totp_reset")] == [
        (admin.staff_id, {"login": "fin.one"})]


def test_a_cookie_of_a_login_that_never_passed_its_code_resumes_nothing(app, clock, finance):
    enrol(app, "fin.one", STAFF_PASSWORD)
    clock.advance(minutes=6)  # the enrolment's own login is not of this cookie's time
    issued = clock.now()
    members.login(app, "fin.one", STAFF_PASSWORD, "10.0.0.5", "office")  # stops at the code
    clock.advance(minutes=1)
    with pytest.raises(SessionInvalid):
        members.resume_from_cookie(app, "fin.one", issued, "office")
    with pytest.raises(SessionInvalid):
        members.resume_from_cookie(app, "fin.one", issued)


def test_a_login_left_at_its_code_ends_after_ten_minutes(app, clock, finance):
    enrol(app, "fin.one", STAFF_PASSWORD)
    started = members.login(app, "fin.one", STAFF_PASSWORD)
    clock.advance(minutes=10, seconds=1)
    with pytest.raises(SessionInvalid, match="10 минут"):
        members.check_session(app, started.session_token)
    with pytest.raises(SessionInvalid):
        second_factor.submit_code(app, started.session_token, fresh_code(app, "fin.one"))
    with app.uow(write=False) as uow:
        row = uow.session.scalar(select(StaffSession).order_by(StaffSession.id.desc()))
    assert row.end_reason == "step_timeout"


def test_only_an_admin_resets_and_not_their_own_password(app, admin, agent):
    from core.actors import PermissionDenied
    with pytest.raises(PermissionDenied):
        members.reset_password(app, agent, admin.staff_id)
    with pytest.raises(PermissionDenied):
        members.reset_second_factor(app, agent, admin.staff_id)
    with pytest.raises(ValidationError, match="свой пароль"):
        members.reset_password(app, admin, admin.staff_id)
    assert not _actions(app, "staff.password_reset")
