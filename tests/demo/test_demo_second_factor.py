"""The demo's administrator and finance log in with the README's TOTP keys."""
from __future__ import annotations

import pyotp

from core.demo.guard import DEMO_STAFF, DEMO_TOTP_SECRETS, demo_totp_code
from core.demo.rich import ensure_demo_staff
from core.staff import members, second_factor

PASSWORDS = {login: password for login, _, _, password in DEMO_STAFF}


def test_the_demo_admin_and_finance_log_in_with_the_readme_keys(app, clock):
    ensure_demo_staff(app)
    for login in ("admin", "finance"):
        started = members.login(app, login, PASSWORDS[login])
        assert started.pending == "totp"
        code = pyotp.TOTP(DEMO_TOTP_SECRETS[login]).at(app.now())
        assert demo_totp_code(app, login) == code  # the hint of the code step
        assert second_factor.submit_code(app, started.session_token, code) is None
        assert members.check_session(app, started.session_token).login == login
    assert members.login(app, "agent", PASSWORDS["agent"]).pending is None
    assert demo_totp_code(app, "agent") is None


def test_no_code_is_shown_once_the_demo_password_is_changed(app, clock):
    ids = ensure_demo_staff(app)
    members.change_password(app, None, ids["admin"], "Real-admin-pass-2027")
    assert demo_totp_code(app, "admin") is None
    assert demo_totp_code(app, "finance") is not None
