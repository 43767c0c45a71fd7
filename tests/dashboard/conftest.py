"""AppTest fixtures: the dashboard runs against the test database of ``db_url``
(SQLite, and PostgreSQL when configured), with fast hashing and no login pause."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.customers.captcha import StaticCaptcha
from core.app import App, build_app
from core.config import load_settings
from core.actors import StaffRole
from tests.conftest import TEST_SECRETS
from tests.factories.customers import STAFF_PASSWORD, make_staff

ROOT = Path(__file__).resolve().parents[2]
APP_FILE = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def dash_app(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The same database the dashboard will use, for setting up and checking rows."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("APP_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("STAFF_COOKIE_KEY", TEST_SECRETS.cookie_key)
    monkeypatch.setenv("APP_HMAC_KEY", TEST_SECRETS.hmac_key.decode())
    monkeypatch.setenv("APP_FAST_HASHING", "1")
    monkeypatch.setenv("STAFF_LOGIN_SLEEP", "0")
    monkeypatch.setenv("NOTIFY_LOG_DIR", str(tmp_path / "notify"))
    # The simulated bank of this test only, not the demo's data/acquirer.db.
    monkeypatch.setenv("GATEWAY_STATE_FILE", str(tmp_path / "acquirer.db"))
    st.cache_data.clear()
    st.cache_resource.clear()
    app = build_app(load_settings(), captcha=StaticCaptcha("ok"))
    yield app
    st.cache_resource.clear()
    app.engine.dispose()


def login(at: AppTest, login_name: str, password: str = STAFF_PASSWORD) -> AppTest:
    at.run()
    at.text_input[0].input(login_name)
    at.text_input[1].input(password)
    at.button[0].click().run()
    return at


@pytest.fixture
def logged_in(dash_app: App) -> Callable[[StaffRole], tuple[AppTest, object]]:
    """A fresh AppTest logged in through the real form as a new staff member of a role."""
    def _make(role: StaffRole) -> tuple[AppTest, object]:
        actor = make_staff(dash_app, role)
        at = AppTest.from_file(APP_FILE, default_timeout=60)
        login(at, actor.login)
        assert not at.exception, at.exception
        return at, actor
    return _make
