"""AppTest fixtures for the customer's cabinet: it runs against the test database of ``db_url``
(SQLite, and PostgreSQL when configured) with fast hashing; ``cab_app`` is the same database
for setting up and checking rows (its captcha is the test double; the cabinet's own is the
real arithmetic one, which ``solve_captcha`` answers from the question on the page)."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import customer_api as api
from core.app import App
from tests.conftest import streamlit_app_env
from tests.dashboard.helpers import button, texts
from tests.factories import customers

ROOT = Path(__file__).resolve().parents[2]
APP_FILE = str(ROOT / "cabinet" / "app.py")


@pytest.fixture
def cab_app(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    with streamlit_app_env(db_url, tmp_path, monkeypatch) as app:
        yield app


def cabinet() -> AppTest:
    return AppTest.from_file(APP_FILE, default_timeout=60).run()


def solve_captcha(at: AppTest) -> str:
    found = re.search(r"Сколько будет (\d+) \+ (\d+)\?", texts(at))
    assert found, texts(at)
    return str(int(found[1]) + int(found[2]))


def log_in(at: AppTest, phone: str, password: str = customers.PASSWORD) -> AppTest:
    at.text_input(key="cab_login_phone").input(phone)
    at.text_input(key="cab_login_password").input(password)
    return button(at, "Войти").click().run()


@pytest.fixture
def customer(cab_app: App) -> Callable[..., tuple[str, api.CustomerLogin]]:
    """A new active cabinet: (its phone as typed, the login of a session of its own)."""
    def _make(**overrides: object) -> tuple[str, api.CustomerLogin]:
        form = customers.registration(**overrides)
        return form.phone, customers.register_and_activate(cab_app, **{
            "phone": form.phone, "email": form.email, **overrides})
    return _make


@pytest.fixture
def logged_in(cab_app: App, customer) -> Callable[..., tuple[AppTest, str, api.CustomerLogin]]:  # type: ignore[no-untyped-def]
    """A fresh AppTest logged in through the real form as a new customer."""
    def _make(**overrides: object) -> tuple[AppTest, str, api.CustomerLogin]:
        phone, own = customer(**overrides)
        at = log_in(cabinet(), phone)
        assert not at.exception, at.exception
        assert "Счета к оплате" in texts(at), texts(at)
        return at, phone, own
    return _make
