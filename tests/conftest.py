"""Shared fixtures. Every test that takes ``app`` runs on SQLite and, when
TEST_DATABASE_URL points at a PostgreSQL server, again on PostgreSQL."""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.customers.captcha import StaticCaptcha
from core.notifications.senders import LogFileSender, RecordingSender
from core.actors import StaffRole
from core.app import App, build_app
from core.clock import FrozenClock
from core.config import FAST_HASHING, Settings, load_settings
from core.db.engine import make_engine
from core.db.migrate import upgrade
from core.notifications.channels import Channel
from core.secrets import Secrets
from tests.factories.dbstate import empty_postgresql

TEST_SECRETS = Secrets(cookie_key="test-cookie-key-" + "x" * 32, hmac_key=b"test-hmac-key")
PG_URL = os.environ.get("TEST_DATABASE_URL")
PG_SKIP_REASON = ("PostgreSQL tests skipped: TEST_DATABASE_URL is not set "
                  "(.ci/run starts a throwaway cluster and sets it)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the file (much faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database on the test server, migrated once for the whole run."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "app.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_database")
    yield url
    empty_postgresql(url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def email_sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: FrozenClock,
        email_sender: RecordingSender) -> Iterator[App]:
    settings = Settings(database_url=db_url, secrets_file=tmp_path / "secrets.toml",
                        notify_log_dir=tmp_path / "notify", hashing=FAST_HASHING)
    application = build_app(
        settings, clock=clock, captcha=StaticCaptcha("ok"), secrets=TEST_SECRETS,
        senders={Channel.SMS: LogFileSender(tmp_path / "notify" / "sms.log", clock.now),
                 Channel.EMAIL: email_sender})
    yield application
    application.engine.dispose()


@contextmanager
def streamlit_app_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      **extra_env: str) -> Iterator[App]:
    """What an AppTest of the back office or the cabinet runs against: the environment its
    script reads (the test database of ``db_url``, fast hashing, this test's secrets, SMS and
    e-mail log files and simulated bank, plus each app's own ``extra_env``), Streamlit's
    caches empty on both sides, and the same database as an ``App`` for setting up and
    checking rows (its captcha the test double)."""
    import streamlit as st  # here, not at the top: most tests never load Streamlit

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("APP_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("STAFF_COOKIE_KEY", TEST_SECRETS.cookie_key)
    monkeypatch.setenv("APP_HMAC_KEY", TEST_SECRETS.hmac_key.decode())
    monkeypatch.setenv("APP_FAST_HASHING", "1")
    monkeypatch.setenv("NOTIFY_LOG_DIR", str(tmp_path / "notify"))
    # The simulated bank of this test only, not the demo's data/acquirer.db.
    monkeypatch.setenv("GATEWAY_STATE_FILE", str(tmp_path / "acquirer.db"))
    for name, value in extra_env.items():
        monkeypatch.setenv(name, value)
    st.cache_data.clear()
    st.cache_resource.clear()
    application = build_app(load_settings(), captcha=StaticCaptcha("ok"))
    try:
        yield application
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
        application.engine.dispose()


@pytest.fixture
def agent(app):  # type: ignore[no-untyped-def]
    from tests.factories.customers import make_staff

    return make_staff(app, StaffRole.AGENT)


@pytest.fixture
def admin(app):  # type: ignore[no-untyped-def]
    from tests.factories.customers import make_staff

    return make_staff(app, StaffRole.ADMIN)
