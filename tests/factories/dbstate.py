"""Helpers for asserting what a service left in the database."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, func, select, text
from sqlalchemy.pool import Pool

from core.app import App
from core.db.models import Base


def snapshot(app: App) -> dict[str, list[str]]:
    """Every row of every table, as sorted reprs: equal snapshots mean nothing changed."""
    with app.uow(write=False) as uow:
        return {table.name: sorted(repr(tuple(row)) for row in uow.session.execute(select(table)))
                for table in Base.metadata.sorted_tables}


def count(app: App, model: type) -> int:
    with app.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def all_values(app: App) -> list[str]:
    """Every non-null value of every column of every table, as text."""
    values: list[str] = []
    with app.uow(write=False) as uow:
        for table in Base.metadata.sorted_tables:
            for row in uow.session.execute(select(table)):
                values.extend(str(v) for v in row if v is not None)
    return values


def other_code(code: str) -> str:
    """A 4-digit code that is certainly not ``code``."""
    return f"{(int(code) + 1) % 10000:04d}"


@contextmanager
def read_only_database() -> Iterator[None]:
    """Every connection any engine hands out meanwhile refuses to write, as a database on
    a full disk or a read-only file would (SQLite: «attempt to write a readonly
    database»; PostgreSQL: «cannot execute … in a read-only transaction»). Set on the
    pool class, so it reaches engines the code under test built for itself."""
    def refuse_writes(dbapi_connection, record, proxy) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_connection.commit()  # from the next transaction on, the one to come
        cursor.close()

    def allow_writes(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cursor.execute("PRAGMA query_only = OFF")
        else:
            dbapi_connection.rollback()
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
            dbapi_connection.commit()
        cursor.close()

    event.listen(Pool, "checkout", refuse_writes)
    event.listen(Pool, "checkin", allow_writes)
    try:
        yield
    finally:
        event.remove(Pool, "checkout", refuse_writes)
        event.remove(Pool, "checkin", allow_writes)


def empty_postgresql(url: str) -> None:
    """Every table of a migrated PostgreSQL database emptied, ids from 1 again."""
    from core.db.engine import make_engine

    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # The append-only tables refuse TRUNCATE by trigger; triggers do not fire for a
        # (superuser's) replica session, which is how restores skip them too.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
