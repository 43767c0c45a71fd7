"""The application's own PostgreSQL role: ``python -m core db grant-app-role ROLE``.

Migrations run as the role that owns the tables; the dashboard and the worker connect
as another one that may only read and add rows to the append-only tables and read and
write the others. The triggers that keep a journal append-only bind everybody but the
owner, who may drop or disable them (and a superuser, who may switch them off for the
session): a role that owns nothing can neither ``TRUNCATE`` nor ``ALTER TABLE … DISABLE
TRIGGER``. Run again after each ``db upgrade``: a new table has no grants yet, and the
statements first revoke everything, so the result never depends on earlier grants.
"""
from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, text

from core.db import append_only
from core.db.models import Base
from core.errors import DomainError, ValidationError

# The migrations' own bookkeeping: the application reads it (is the schema current?).
READ_ONLY = ("alembic_version",)

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_$]{0,62}")


def grant_statements(role: str, schema: str, tables: list[str]) -> list[str]:
    """The statements for ``role`` on ``tables`` of ``schema``, names quoted."""
    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def names(selected: list[str]) -> str:
        return ", ".join(f"{quoted(schema)}.{quoted(t)}" for t in selected)

    grantee, space = quoted(role), quoted(schema)
    guarded = [t for t in tables if t in append_only.TABLES]
    read_only = [t for t in tables if t in READ_ONLY]
    writable = [t for t in tables if t not in guarded and t not in read_only]
    statements = [f"REVOKE ALL ON ALL TABLES IN SCHEMA {space} FROM {grantee}",
                  f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {space} FROM {grantee}",
                  f"GRANT USAGE ON SCHEMA {space} TO {grantee}"]
    if writable:
        statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {names(writable)} TO {grantee}")
    if guarded:
        statements.append(f"GRANT SELECT, INSERT ON {names(guarded)} TO {grantee}")
    if read_only:
        statements.append(f"GRANT SELECT ON {names(read_only)} TO {grantee}")
    # The ids' sequences: nextval needs USAGE.
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {space} TO {grantee}")
    return statements


def plan(connection: Connection, role: str) -> list[str]:
    """The grants for ``role`` in this database, after checking the role may have them."""
    if connection.dialect.name != "postgresql":
        raise DomainError("Роль приложения: настраивается только в PostgreSQL (SQLite "
                          "не знает ролей, его файл защищают правами доступа)")
    if not _ROLE_NAME.fullmatch(role):
        raise ValidationError("Роль", "имя из строчных латинских букв, цифр и «_», "
                              "не длиннее 63 знаков, например app")
    found = connection.execute(text(
        "SELECT r.rolsuper, pg_has_role(r.oid, t.tableowner, 'MEMBER') "
        "FROM pg_roles r, pg_tables t WHERE r.rolname = :role "
        "AND t.schemaname = current_schema() AND t.tablename = 'audit_log'"),
        {"role": role}).first()
    if found is None:
        exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"),
                                   {"role": role})
        if not exists:
            raise ValidationError("Роль", f"роли {role} нет: создайте её (CREATE ROLE {role} "
                                  "LOGIN PASSWORD '…') и повторите")
        raise DomainError("Роль приложения: в базе нет таблиц, сначала выполните "
                          "python -m core db upgrade")
    superuser, owner = found
    if superuser or owner:
        raise ValidationError("Роль", f"{role} — суперпользователь или владелец таблиц (или "
                              "входит в роль владельца): ей права не ограничить, нужна "
                              "отдельная роль без этих прав")
    schema = connection.scalar(text("SELECT current_schema()"))
    present = set(connection.scalars(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")))
    tables = [t.name for t in Base.metadata.sorted_tables if t.name in present]
    tables += [t for t in READ_ONLY if t in present]
    return grant_statements(role, schema, tables)


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Apply :func:`plan` in one transaction (as the owner); the statements run."""
    with engine.begin() as connection:
        statements = plan(connection, role)
        for statement in statements:
            connection.exec_driver_sql(statement)
    return statements
