"""Staff with a second factor, as the tests need them: enrolled through the real use
cases, the secret kept here by login so a login helper can compute the code (pyotp)."""
from __future__ import annotations

import pyotp
from sqlalchemy import select

from core.app import App
from core.db.models import StaffUser
from core.staff import members, second_factor, totp

SECRETS: dict[str, str] = {}  # login -> TOTP secret of every member enrolled here


def fresh_code(app: App, login_name: str, secret: str | None = None) -> str:
    """A code the server accepts now: of the current step, or of the next one when the
    current step was already used (a second login within the same 30 seconds; the server
    accepts one step of clock drift either side)."""
    secret = secret or SECRETS[login_name]
    with app.uow(write=False) as uow:
        last = uow.session.scalar(select(StaffUser.totp_last_step)
                                  .where(StaffUser.login == login_name))
    step = totp.step_of(app.now())
    if last is not None and step <= last:
        step = last + 1
    return pyotp.TOTP(secret).at(step * totp.STEP_SECONDS)


def enrol(app: App, login_name: str, password: str) -> tuple[str, list[str]]:
    """Log in with the password, enrol (as a role that must, or by choice), return the
    secret and the recovery codes; the login's session ends."""
    started = members.login(app, login_name, password)
    enrolment = second_factor.start_enrolment(app, started.session_token)
    if started.pending == "totp":
        raise AssertionError("already enrolled")
    codes = second_factor.confirm_enrolment(app, started.session_token,
                                            pyotp.TOTP(enrolment.secret).at(app.now()))
    members.logout(app, started.session_token)
    SECRETS[login_name] = enrolment.secret
    return enrolment.secret, codes


def login_fully(app: App, login_name: str, password: str,
                client_address: str | None = None) -> members.StaffLogin:
    """The password, then the code: an open session."""
    result = members.login(app, login_name, password, client_address)
    if result.pending == "totp":
        assert second_factor.submit_code(app, result.session_token,
                                         fresh_code(app, login_name), client_address) is None
    return result
