"""Large reads straight into Arrow through ADBC, Apache Arrow's database drivers.

Reconciliation reads every payment of a registry's period: a million rows at full
scale. Through psycopg every value becomes a Python object, then a frame's column;
ADBC's PostgreSQL driver reads the rows by ``COPY`` in binary into Arrow columns in C.

PostgreSQL only. ADBC's SQLite driver is as quick (1.2–2.1 s against 4.4–5.5 s for the
read at 1M with the frame, on a loaded machine) but links its own copy of SQLite:
two copies in one process do not see each other's POSIX locks, and closing the
driver's file released the locks of ours (our tests then failed with «disk I/O
error»; https://www.sqlite.org/howtocorrupt.html, 2.2.1). SQLite stays on the DB-API.

Reads only, on a connection of their own opened for the read: it sees what is
committed (READ COMMITTED), as a new read-only unit of work would. The statement is
SQLAlchemy Core rendered by the dialect with its parameters as literals (quoted and
escaped by the dialect's literal processors); it is meant for our own values
(periods, ids), not for text from a file.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.sql import Executable


def read_arrow(engine: Engine, query: Executable) -> pa.Table | None:
    """The rows of ``query`` as an Arrow table (columns named as the query's), or None
    where no ADBC driver serves this database (SQLite, the driver not installed): the
    caller then reads through its session."""
    connect = _connector(engine)
    if connect is None:
        return None
    sql = str(query.compile(dialect=engine.dialect,  # type: ignore[attr-defined]
                            compile_kwargs={"literal_binds": True}))
    with closing(connect()) as connection, closing(connection.cursor()) as cursor:
        cursor.execute(sql)
        return cursor.fetch_arrow_table()


def _connector(engine: Engine) -> Callable[[], Any] | None:
    if engine.url.get_backend_name() != "postgresql":
        return None
    try:
        import adbc_driver_postgresql.dbapi as postgresql_adbc
    except ImportError:
        return None
    uri = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return lambda: postgresql_adbc.connect(uri)
