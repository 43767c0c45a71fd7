"""AppTest fixtures: the dashboard runs against the test database of ``db_url``
(SQLite, and PostgreSQL when configured), with fast hashing and no login pause."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.app import App
from core.actors import StaffRole
from tests.conftest import streamlit_app_env
from core.staff import totp
from tests.factories.customers import STAFF_PASSWORD, make_staff
from tests.factories.second_factor import SECRETS, enrol, fresh_code

ROOT = Path(__file__).resolve().parents[2]
APP_FILE = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def dash_app(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The same database the dashboard will use, for setting up and checking rows; the
    login form's pause is off."""
    with streamlit_app_env(db_url, tmp_path, monkeypatch, STAFF_LOGIN_SLEEP="0") as app:
        yield app


def login(at: AppTest, login_name: str, password: str = STAFF_PASSWORD,
          app: App | None = None) -> AppTest:
    """The login form; then, for a member enrolled by tests.factories.second_factor (given
    ``app``, whose database says which codes were used), the code of the second step."""
    at.run()
    at.text_input[0].input(login_name)
    at.text_input[1].input(password)
    at.button[0].click().run()
    if app is not None and login_name in SECRETS and [
            t for t in at.text_input if t.key == "login_totp_code"]:
        at.text_input(key="login_totp_code").input(fresh_code(app, login_name))
        [b for b in at.button if b.label == "Подтвердить"][0].click().run()
    return at


@pytest.fixture
def logged_in(dash_app: App) -> Callable[[StaffRole], tuple[AppTest, object]]:
    """A fresh AppTest logged in through the real form as a new staff member of a role."""
    def _make(role: StaffRole) -> tuple[AppTest, object]:
        actor = make_staff(dash_app, role)
        if totp.required(role):  # administrators and finance log in with a second factor
            enrol(dash_app, actor.login, STAFF_PASSWORD)
        at = AppTest.from_file(APP_FILE, default_timeout=60)
        login(at, actor.login, app=dash_app)
        assert not at.exception, at.exception
        return at, actor
    return _make
