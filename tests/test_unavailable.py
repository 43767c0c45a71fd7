"""A database that cannot be written (a full disk, a read-only file or server) is a
``ServiceUnavailable`` with a Russian message, logged with the driver's traceback, and
changes nothing; errors of a statement (a refused rewrite) stay what they are."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from core.db.models import StaffUser
from core.errors import ServiceUnavailable
from core.staff import members
from tests.factories.customers import STAFF_PASSWORD, make_staff
from tests.factories.dbstate import read_only_database, snapshot


def test_a_read_only_database_is_service_unavailable_and_logged(app, caplog):
    staff = make_staff(app)
    before = snapshot(app)
    app.engine.dispose()  # new connections, so the read-only switch reaches them
    caplog.set_level(logging.ERROR, logger="core.uow")
    with read_only_database(), pytest.raises(ServiceUnavailable) as refused:
        members.login(app, staff.login, STAFF_PASSWORD)
    assert str(refused.value).startswith("Сервис временно недоступен: база данных не отвечает")
    logged = [r for r in caplog.records if r.name == "core.uow"]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log
    assert "read" in str(logged[0].exc_info[1]).lower()  # …with the driver's own words
    assert snapshot(app) == before
    # Reading still works meanwhile, and writing again afterwards.
    with read_only_database(), app.uow(write=False) as uow:
        assert uow.session.scalar(select(StaffUser.login).where(StaffUser.id == staff.staff_id))
    assert members.login(app, staff.login, STAFF_PASSWORD).session_token


def test_an_unreachable_database_is_service_unavailable(tmp_path):
    from core.app import build_app
    from core.config import FAST_HASHING, Settings
    from tests.conftest import TEST_SECRETS

    missing = tmp_path / "no-such-dir" / "app.db"
    app = build_app(Settings(database_url=f"sqlite:///{missing}",
                             secrets_file=tmp_path / "secrets.toml", hashing=FAST_HASHING,
                             notify_log_dir=tmp_path / "notify"), secrets=TEST_SECRETS)
    with pytest.raises(ServiceUnavailable):
        members.login(app, "admin", "whatever-2026")


def test_a_statement_error_is_not_mistaken_for_an_outage(app):
    make_staff(app)  # journals the new member
    with pytest.raises(DBAPIError, match="append-only") as refused:
        with app.uow() as uow:
            uow.session.execute(text("UPDATE audit_log SET action = 'x'"))
    assert not isinstance(refused.value, ServiceUnavailable)
