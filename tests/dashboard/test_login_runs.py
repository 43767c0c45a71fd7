"""A login costs one script run per form a person submits: no rerun after the password,
the second factor's code or «Коды сохранены», and no cookie component that answers back
(its every answer was a run more). Counted by the entry script's own hook."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.actors import StaffRole
from core.staff import totp
from webapp import script_runs
from dashboard.cookies import cookie_line
from tests.dashboard.conftest import APP_FILE
from tests.dashboard.helpers import button
from tests.factories.customers import STAFF_PASSWORD, make_staff
from tests.factories.second_factor import enrol, fresh_code


def _runs(action) -> int:  # type: ignore[no-untyped-def]
    before = script_runs.count()
    action()
    return script_runs.count() - before


def _cookie_scripts(at: AppTest) -> list[str]:
    return [str(e.proto.body) for e in at.get("html") if "document.cookie" in e.proto.body]


def test_a_password_login_runs_the_script_once_and_sets_the_cookie(dash_app):
    agent = make_staff(dash_app, StaffRole.AGENT)
    at = AppTest.from_file(APP_FILE, default_timeout=60)
    assert _runs(at.run) == 1
    assert [e.value for e in at.text_input] == ["", ""]  # the form
    assert not _cookie_scripts(at)  # nothing written before a login
    at.text_input[0].input(agent.login)
    at.text_input[1].input(STAFF_PASSWORD)
    assert _runs(at.button[0].click().run) == 1
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Клиенты"]  # the landing page, in that run
    assert "Вход для сотрудников" not in [s.value for s in at.subheader]  # the form went
    [written] = _cookie_scripts(at)
    assert "utility_backoffice_staff=" in written and "SameSite=Strict" in written
    assert _runs(at.run) == 1  # the next click: the pages, and no second cookie
    assert not _cookie_scripts(at)


def test_a_login_with_the_second_factor_runs_once_per_form(dash_app):
    finance = make_staff(dash_app, StaffRole.FINANCE)
    enrol(dash_app, finance.login, STAFF_PASSWORD)
    at = AppTest.from_file(APP_FILE, default_timeout=60)
    at.run()
    at.text_input[0].input(finance.login)
    at.text_input[1].input(STAFF_PASSWORD)
    assert _runs(at.button[0].click().run) == 1
    assert [s.value for s in at.subheader] == ["Вход: код двухфакторного входа"]
    assert not _cookie_scripts(at)  # the login is not complete yet
    at.text_input(key="login_totp_code").input(fresh_code(dash_app, finance.login))
    assert _runs(button(at, "Подтвердить").click().run) == 1
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Клиенты"]  # its landing page
    assert "Вход: код двухфакторного входа" not in [s.value for s in at.subheader]
    assert len(_cookie_scripts(at)) == 1


def test_enrolling_at_login_shows_the_codes_then_the_landing_page_without_reruns(dash_app):
    admin = make_staff(dash_app, StaffRole.ADMIN)
    assert totp.required(StaffRole.ADMIN)
    at = AppTest.from_file(APP_FILE, default_timeout=60)
    at.run()
    at.text_input[0].input(admin.login)
    at.text_input[1].input(STAFF_PASSWORD)
    assert _runs(at.button[0].click().run) == 1
    assert [s.value for s in at.subheader] == ["Вход: подключите двухфакторный вход"]
    import pyotp

    secret = at.session_state["auth_enrolment"].secret
    at.text_input(key="enrol_code").input(pyotp.TOTP(secret).now())
    assert _runs(button(at, "Подключить").click().run) == 1
    assert [s.value for s in at.subheader] == ["Резервные коды двухфакторного входа"]
    assert _runs(button(at, "Коды сохранены, продолжить").click().run) == 1
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Клиенты"]  # its landing page
    assert "Резервные коды двухфакторного входа" not in [s.value for s in at.subheader]


def test_the_cookie_line_keeps_its_flags():
    from datetime import datetime, timezone

    line = cookie_line("c", "a.b-c_d", expires_at=datetime(2030, 1, 2, 3, 4, 5,
                                                            tzinfo=timezone.utc), secure=True)
    assert line == ("c=a.b-c_d; path=/; expires=Wed, 02 Jan 2030 03:04:05 GMT; "
                    "SameSite=Strict; Secure")
    gone = cookie_line("c", "", expires_at=datetime(1970, 1, 1, tzinfo=timezone.utc))
    assert gone.startswith("c=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT")
