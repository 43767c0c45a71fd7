"""The append-only tables cannot be rewritten: not by REPLACE-style inserts (SQLite), not by
TRUNCATE (PostgreSQL), and the application's own role may not disable their triggers."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError

from core import cli
from core.actors import StaffRole
from core.app import App, build_app
from core.clock import FrozenClock
from core.config import FAST_HASHING, Settings
from core.customers.captcha import StaticCaptcha
from core.db import append_only
from core.db.engine import make_engine
from core.db.statistics import refresh_app_statistics
from core.errors import DomainError, ValidationError
from core.notifications.channels import Channel
from core.notifications.senders import LogFileSender, RecordingSender
from core.payments import refunds
from core.payments.machine import PaymentStatus
from tests.conftest import TEST_SECRETS
from tests.factories.customers import make_staff
from tests.factories.payment_flow import journal_kinds, pay_invoice, payer

AUDIT_COLUMNS = "(id, at, actor_kind, action, result)"
AUDIT_VALUES = "(:id, CURRENT_TIMESTAMP, 'system', 'forged', 'ok')"
ENTRY_COLUMNS = "(id, journal_id, account, amount)"
ENTRY_VALUES = "(:id, :journal, 'clearing', 99999999)"


def _seed(engine: Engine) -> dict[str, int]:
    with engine.begin() as conn:
        audit = conn.execute(text("INSERT INTO audit_log (at, actor_kind, action, result) "
                                  "VALUES (CURRENT_TIMESTAMP, 'system', 'test', 'ok') "
                                  "RETURNING id")).scalar_one()
        journal = conn.execute(text("INSERT INTO ledger_journals (kind, at) "
                                    "VALUES ('payment', CURRENT_TIMESTAMP) RETURNING id")).scalar_one()
        entry = conn.execute(text("INSERT INTO ledger_entries (journal_id, account, amount) "
                                  "VALUES (:j, 'clearing', 100) RETURNING id"),
                             {"j": journal}).scalar_one()
        conn.execute(text("INSERT INTO ledger_entries (journal_id, account, amount) "
                          "VALUES (:j, 'provider_payable', -100)"), {"j": journal})
    return {"audit": audit, "journal": journal, "entry": entry}


def _rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
                for table in append_only.TABLES}


SQLITE_REWRITES = [
    f"INSERT OR REPLACE INTO audit_log {AUDIT_COLUMNS} VALUES {AUDIT_VALUES}",
    f"REPLACE INTO audit_log {AUDIT_COLUMNS} VALUES {AUDIT_VALUES}",
    f"INSERT INTO audit_log {AUDIT_COLUMNS} VALUES {AUDIT_VALUES} "
    "ON CONFLICT (id) DO UPDATE SET action = 'forged'",
    f"INSERT OR REPLACE INTO ledger_entries {ENTRY_COLUMNS} VALUES {ENTRY_VALUES}",
    f"REPLACE INTO ledger_entries {ENTRY_COLUMNS} VALUES {ENTRY_VALUES}",
    f"INSERT INTO ledger_entries {ENTRY_COLUMNS} VALUES {ENTRY_VALUES} "
    "ON CONFLICT (id) DO UPDATE SET amount = 99999999",
]


@pytest.mark.parametrize("statement", SQLITE_REWRITES)
def test_sqlite_refuses_replace_style_rewrites(tmp_path: Path, sqlite_template: Path,
                                              statement: str):
    path = tmp_path / "app.db"
    path.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    ids = _seed(engine)
    before = _rows(engine)
    target = ids["audit"] if "audit_log" in statement else ids["entry"]
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement), {"id": target, "journal": ids["journal"]})
    assert _rows(engine) == before
    engine.dispose()


def test_upsert_over_a_journal_row_is_refused_on_both_databases(db_url: str):
    engine = make_engine(db_url)
    ids = _seed(engine)
    before = _rows(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO audit_log {AUDIT_COLUMNS} VALUES {AUDIT_VALUES} "
                              "ON CONFLICT (id) DO UPDATE SET action = 'forged'"),
                         {"id": ids["audit"]})
    assert _rows(engine) == before
    engine.dispose()


def test_sqlite_replace_on_another_unique_key_is_refused_too(tmp_path: Path,
                                                             sqlite_template: Path):
    """A unique key besides the id (none today) would let REPLACE delete the row it
    collides with; the connection's recursive_triggers makes that delete hit the DELETE
    trigger."""
    path = tmp_path / "app.db"
    path.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE UNIQUE INDEX ix_probe ON audit_log (action)"))
    _seed(engine)
    before = _rows(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("INSERT OR REPLACE INTO audit_log (at, actor_kind, action, result) "
                              "VALUES (CURRENT_TIMESTAMP, 'system', 'test', 'forged')"))
    assert _rows(engine) == before
    engine.dispose()


@pytest.mark.parametrize("row_id", [0, -1, -5])
def test_sqlite_refuses_ids_below_one(tmp_path: Path, sqlite_template: Path, row_id: int):
    """A row with id -1 would be one that a REPLACE could rewrite (NEW.id reads -1 in a
    BEFORE INSERT trigger whenever the id is left to the database)."""
    path = tmp_path / "app.db"
    path.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO audit_log {AUDIT_COLUMNS} VALUES {AUDIT_VALUES}"),
                         {"id": row_id})
    with engine.begin() as conn:  # ordinary inserts go on, with or without an id
        conn.execute(text("INSERT INTO audit_log (at, actor_kind, action, result) "
                          "VALUES (CURRENT_TIMESTAMP, 'system', 'test', 'ok')"))
        conn.execute(text(f"INSERT INTO audit_log {AUDIT_COLUMNS} VALUES {AUDIT_VALUES}"),
                     {"id": 1000})
        assert conn.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars().all() == [1, 1000]
    engine.dispose()


def test_the_guarded_tables_are_the_append_only_ones(db_url: str):
    engine = make_engine(db_url)
    query = ("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%no_replace'"
             if engine.dialect.name == "sqlite" else
             "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
             "WHERE t.tgname LIKE '%no_truncate'")
    with engine.connect() as conn:
        assert set(conn.execute(text(query)).scalars()) == set(append_only.TABLES)
    engine.dispose()


# --- PostgreSQL: TRUNCATE, and the application's own role ---------------------------

def _postgres_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's TRUNCATE and roles; SQLite is covered above")


@pytest.mark.parametrize("statement", [f"TRUNCATE {t} CASCADE" for t in append_only.TABLES]
                         + ["TRUNCATE staff_users CASCADE", "TRUNCATE payments CASCADE",
                            "TRUNCATE audit_log, ledger_entries"])
def test_the_owner_cannot_truncate_a_journal(db_url: str, statement: str):
    _postgres_only(db_url)
    engine = make_engine(db_url)
    _seed(engine)
    before = _rows(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    assert _rows(engine) == before
    engine.dispose()


@pytest.fixture
def app_role(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A login role set up by ``python -m core db grant-app-role``, and its URL."""
    _postgres_only(db_url)
    role = f"app_{uuid.uuid4().hex[:8]}"
    owner = make_engine(db_url)
    with owner.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["db", "grant-app-role", role]) == 0
    yield role, make_url(db_url).set(username=role).render_as_string(hide_password=False)
    with owner.begin() as conn:
        conn.exec_driver_sql(f"DROP OWNED BY {role}")
        conn.exec_driver_sql(f"DROP ROLE {role}")
    owner.dispose()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET action = 'forged'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_log_no_truncate ON audit_log",
    "SET session_replication_role = replica",
    "UPDATE ledger_entries SET amount = 99999999",
    "TRUNCATE ledger_entries",
    "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only",
    "DELETE FROM payment_events",
    "UPDATE alembic_version SET version_num = '0001'",
])
def test_the_app_role_cannot_rewrite_or_unguard_a_journal(db_url: str, app_role: tuple[str, str],
                                                         statement: str):
    owner, engine = make_engine(db_url), make_engine(app_role[1])
    _seed(owner)
    before = _rows(owner)
    with pytest.raises(DBAPIError, match="permission denied|must be owner"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    assert _rows(owner) == before
    owner.dispose()
    engine.dispose()


def test_the_app_role_reads_and_adds_journal_rows_and_writes_the_others(
        db_url: str, app_role: tuple[str, str], capsys: pytest.CaptureFixture[str]):
    assert cli.main(["db", "grant-app-role", app_role[0], "--sql"]) == 0
    printed = capsys.readouterr().out.splitlines()
    journals = [line.removeprefix("GRANT SELECT, INSERT ON ") for line in printed
                if line.startswith("GRANT SELECT, INSERT ON ")]
    assert len(journals) == 1 and journals[0].endswith(f' TO "{app_role[0]}";')
    assert set(journals[0].split(" TO ")[0].split(", ")) == {
        f'"public"."{table}"' for table in append_only.TABLES}
    assert not any("TRUNCATE" in line for line in printed)
    engine = make_engine(app_role[1])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (at, actor_kind, action, result) "
                          "VALUES (CURRENT_TIMESTAMP, 'system', 'by-app', 'ok')"))
        assert conn.execute(text("SELECT action FROM audit_log")).scalars().all() == ["by-app"]
        conn.execute(text("UPDATE staff_users SET name = name"))  # an ordinary table
    engine.dispose()


def test_the_whole_payment_flow_runs_as_the_app_role(db_url: str, app_role: tuple[str, str],
                                                     tmp_path: Path):
    settings = Settings(database_url=app_role[1], secrets_file=tmp_path / "secrets.toml",
                        notify_log_dir=tmp_path / "notify", hashing=FAST_HASHING)
    clock = FrozenClock()
    app: App = build_app(settings, clock=clock, captcha=StaticCaptcha("ok"), secrets=TEST_SECRETS,
                         senders={Channel.SMS: LogFileSender(tmp_path / "notify" / "sms.log",
                                                             clock.now),
                                  Channel.EMAIL: RecordingSender()})
    try:
        finance = make_staff(app, StaffRole.FINANCE)
        view = pay_invoice(app, payer(app))
        assert view.status is PaymentStatus.SUCCEEDED
        result = refunds.refund(app, finance, view.id, "100", "Проверка прав роли")
        assert result.payment_status is PaymentStatus.PARTIALLY_REFUNDED
        assert journal_kinds(app, view.id) == ["payment", "refund"]
        refresh_app_statistics(app)  # the worker's daily job: skips what it does not own
    finally:
        app.engine.dispose()


def test_grant_app_role_refuses_what_it_cannot_restrict(db_url: str,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]):
    from core.db import app_role

    engine = make_engine(db_url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn, pytest.raises(DomainError, match="только в PostgreSQL"):
            app_role.plan(conn, "app")
        engine.dispose()
        return
    owner = make_url(db_url).username
    with engine.connect() as conn:
        with pytest.raises(ValidationError, match="^Роль: .*владелец таблиц"):
            app_role.plan(conn, owner)
        with pytest.raises(ValidationError, match="^Роль: роли nobody_here нет"):
            app_role.plan(conn, "nobody_here")
        with pytest.raises(ValidationError, match="^Роль: имя"):
            app_role.plan(conn, 'app"; DROP TABLE audit_log; --')
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["db", "grant-app-role", owner]) == 2
    assert "владелец таблиц" in capsys.readouterr().err
    engine.dispose()
