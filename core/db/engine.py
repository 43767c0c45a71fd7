"""Engines for SQLite (the embedded default) and PostgreSQL (for scale).

SQLite: WAL so readers never wait for the writer, foreign keys on, a busy
timeout, and write transactions opened with BEGIN IMMEDIATE: the write lock is
taken up front, so two writers queue on the busy timeout instead of one of them
failing half-way with "database is locked" when it upgrades a read lock.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from core.files import private

# Execution option set by a writing unit of work (see core.uow).
SQLITE_IMMEDIATE = "sqlite_begin_immediate"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    return create_engine(url, echo=echo, pool_pre_ping=True, future=True)


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        # Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
        # database file's mode, so they are private too.
        path = Path(database)
        if not private.create_empty(path):
            for existing in (path, Path(f"{database}-wal"), Path(f"{database}-shm")):
                private.narrow_and_warn(existing)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy emit BEGIN itself (pysqlite's own transaction handling
        # would defer it and never emit IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # REPLACE then fires the DELETE triggers of the rows it deletes: the append-only
        # tables refuse it also when it collides on a unique key other than the id.
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        if connection.get_execution_options().get(SQLITE_IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
