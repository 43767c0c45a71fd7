"""The migrations and the models describe the same schema, on both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from core.db.engine import make_engine
from core.db.migrate import downgrade, schema_differences, upgrade
from core.db.models import Base


def test_migrated_database_matches_the_models(db_url):
    engine = make_engine(db_url)
    assert schema_differences(engine) == []
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_a_model_change_without_a_migration_is_detected(db_url):
    from sqlalchemy import Column, Integer, Table
    from core.db.models import Base as B

    extra = Table("not_migrated_yet", B.metadata, Column("id", Integer, primary_key=True))
    try:
        engine = make_engine(db_url)
        diffs = schema_differences(engine)
        assert any("not_migrated_yet" in str(diff) for diff in diffs)
        engine.dispose()
    finally:
        B.metadata.remove(extra)


def test_downgrade_to_base_and_upgrade_again(db_url):
    engine = make_engine(db_url)
    downgrade(engine, "base")
    assert "customers" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert schema_differences(engine) == []
    engine.dispose()


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"])
def test_the_audit_log_refuses_updates_and_deletes(db_url, statement):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (at, actor_kind, action, result) "
                          "VALUES (CURRENT_TIMESTAMP, 'system', 'test', 'ok')"))
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA recursive_triggers").scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("statement", ["UPDATE ledger_entries SET amount = 0",
                                       "DELETE FROM ledger_entries",
                                       "UPDATE ledger_journals SET memo = 'x'",
                                       "DELETE FROM ledger_journals"])
def test_the_ledger_refuses_updates_and_deletes(db_url, statement):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        journal = conn.execute(text("INSERT INTO ledger_journals (kind, at) "
                                    "VALUES ('payment', CURRENT_TIMESTAMP) RETURNING id")).scalar()
        conn.execute(text("INSERT INTO ledger_entries (journal_id, account, amount) "
                          "VALUES (:j, 'clearing', 100), (:j, 'provider_payable', -100)"),
                     {"j": journal})
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    engine.dispose()


def test_the_subscription_counts_rollup_goes_down_and_up_again(db_url):
    """0034: the worker's subscription counts (``subscription_count_stats``)."""
    engine = make_engine(db_url)
    downgrade(engine, "0033")
    assert "subscription_count_stats" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert {c["name"] for c in inspect(engine).get_columns("subscription_count_stats")} == {
        "topic", "channel", "subscribed", "total", "computed_at"}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO subscription_count_stats (topic, channel, subscribed, "
                          "total, computed_at) VALUES ('news', 'sms', 1, 2, CURRENT_TIMESTAMP)"))
    with pytest.raises(DBAPIError):  # one row per cell
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO subscription_count_stats (topic, channel, "
                              "subscribed, total, computed_at) "
                              "VALUES ('news', 'sms', 3, 4, CURRENT_TIMESTAMP)"))
    assert schema_differences(engine) == []
    engine.dispose()
