"""DDL that makes a table append-only in the database itself (journals, ledgers).

Used by migrations; the statements are fixed text, so a migration written with
them today still produces the same schema tomorrow.
"""
from __future__ import annotations

# The append-only tables; ``core.db.app_role`` grants the application only INSERT and
# SELECT on them (a test checks the migrated triggers cover exactly these).
TABLES = ("audit_log", "ledger_journals", "ledger_entries", "payment_events")


def create_statements(table: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                for verb in ("UPDATE", "DELETE")]
    return [f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"]


def drop_statements(table: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_append_only()"]


def create_rewrite_guards(table: str, dialect: str) -> list[str]:
    """What the row triggers of :func:`create_statements` let through.

    SQLite: ``INSERT OR REPLACE``/``REPLACE`` deletes the row it collides with without
    firing DELETE triggers (unless ``recursive_triggers`` is on, a per-connection
    setting any other client leaves off), so an insert that names an existing id is
    refused before it runs. In a BEFORE INSERT trigger ``NEW.id`` reads -1 when the id
    is left to the database, so -1 cannot be told apart there; no row may have an id
    below 1 (checked after the insert, when ``NEW.id`` is the real one), so none is -1.

    PostgreSQL: TRUNCATE fires no row triggers; a statement trigger refuses it (also
    when it arrives through ``TRUNCATE … CASCADE`` of a referenced table).
    """
    refusal = f"SELECT RAISE(ABORT, '{table} is append-only'); END"
    if dialect == "sqlite":
        return [f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                f"WHEN NEW.id <> -1 AND EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
                f"BEGIN {refusal}",
                f"CREATE TRIGGER {table}_positive_id AFTER INSERT ON {table} "
                f"WHEN NEW.id < 1 BEGIN {refusal}"]
    return [f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"]


def drop_rewrite_guards(table: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_replace",
                f"DROP TRIGGER IF EXISTS {table}_positive_id"]
    return [f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"]
