"""Bulk writing for ``core.demo.scale.load``: the driver's own bulk path, columns as strings.

SQLite: ``sqlite3`` ``executemany`` fed by a lazy ``zip`` of column lists, so no list
of row tuples is ever built; PostgreSQL: psycopg ``COPY … FROM STDIN``. Timestamps are
numpy ``int64`` microseconds since the epoch (UTC), turned into text in one vectorised
pass, in exactly the format SQLAlchemy's ``UTCDateTime`` writes on SQLite (a fixed
microsecond part: pandas parses mixed formats to NaT), with ``+00`` on PostgreSQL.

Non-unique secondary indexes are dropped before the load and recreated from their own
DDL afterwards (building them row by row during the insert is about 8x slower on
SQLite); unique ones stay, as they guard the data, and the loader inserts in key order.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

_SECOND = 1_000_000


class BulkWriter:
    """One DBAPI connection, one open transaction per :meth:`begin`/:meth:`commit`."""

    def __init__(self, dbapi_connection: Any, dialect: str) -> None:
        self.conn = dbapi_connection
        self.dialect = dialect
        self.pg = dialect == "postgresql"
        self.rows: dict[str, int] = {}
        if self.pg:
            self._skip_foreign_key_triggers()

    def _skip_foreign_key_triggers(self) -> None:
        """What ``pg_restore --disable-triggers`` does: PostgreSQL checks every foreign key
        row by row through triggers, most of a bulk load's time (0.13 of raw COPY with
        them). Only a superuser may; the rows are generated consistent (the tests prove
        it) and the setting dies with this connection, which the loader discards."""
        cursor = self.conn.cursor()
        try:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            if row and row[0]:
                cursor.execute("SET session_replication_role = replica")
            self.conn.commit()
        finally:
            cursor.close()

    # --- transactions ---------------------------------------------------------
    def begin(self) -> None:
        if not self.pg:  # psycopg opens its transaction by itself
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.pg:
            self.conn.commit()
        else:
            self.conn.execute("COMMIT")

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    # --- rows -----------------------------------------------------------------
    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]],
               count: int) -> None:
        """Write ``count`` rows (an iterable of tuples in ``columns`` order)."""
        if count <= 0:
            return
        names = ", ".join(columns)
        cursor = self.conn.cursor()
        try:
            if self.pg:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        finally:
            cursor.close()
        self.rows[table] = self.rows.get(table, 0) + count

    def next_id(self, table: str) -> int:
        return int(self.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")[0][0])

    def reset_sequences(self, tables: Iterable[str]) -> None:
        """PostgreSQL: explicit ids bypass the sequences; move them past the new rows."""
        if not self.pg:
            return
        for table in tables:
            self.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")

    # --- values ---------------------------------------------------------------
    def stamps(self, micros: np.ndarray, missing: np.ndarray | None = None) -> list[str | None]:
        """UTC moments (µs since the epoch) as the column text; ``missing``: NULL there."""
        out = stamp_text(np.asarray(micros, dtype=np.int64), "+00" if self.pg else "")
        if missing is None or not missing.any():
            return out.tolist()  # type: ignore[no-any-return]
        values = out.astype(object)
        values[missing] = None
        return values.tolist()  # type: ignore[no-any-return]


def stamp_text(micros: np.ndarray, suffix: str = "") -> np.ndarray:
    """"YYYY-MM-DD HH:MM:SS.ffffff" + suffix for each moment, by integer arithmetic on
    whole columns (numpy's own datetime_as_string plus the 'T' swap is five times slower):
    the characters are built as UCS-4 code points, one row per position, then viewed
    as a fixed-width unicode array."""
    width = 26 + len(suffix)
    out = np.empty((width, len(micros)), dtype=np.uint32)
    seconds, fraction = np.divmod(micros, _SECOND)
    day_number, of_day = np.divmod(seconds, 86_400)
    # Days to the civil date (H. Hinnant's algorithm, proleptic Gregorian).
    z = day_number + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = (doy - (153 * mp + 2) // 5 + 1).astype(np.int32)
    month = np.where(mp < 10, mp + 3, mp - 9).astype(np.int32)
    year = (yoe + era * 400 + (month <= 2)).astype(np.int32)
    hour, rest = np.divmod(of_day.astype(np.int32), 3600)
    minute, second = np.divmod(rest, 60)

    def put(column: int, value: np.ndarray, digits: int) -> None:
        for k in range(digits - 1, -1, -1):
            value, digit = np.divmod(value, 10)
            out[column + k] = digit + 48

    put(0, year, 4)
    put(5, month, 2)
    put(8, day, 2)
    put(11, hour, 2)
    put(14, minute, 2)
    put(17, second, 2)
    put(20, fraction.astype(np.int32), 6)
    for column, char in ((4, "-"), (7, "-"), (10, " "), (13, ":"), (16, ":"), (19, ".")):
        out[column] = ord(char)
    for k, char in enumerate(suffix):
        out[26 + k] = ord(char)
    return np.ascontiguousarray(out.T).view(f"<U{width}").ravel()


def secondary_indexes(writer: BulkWriter) -> list[tuple[str, str]]:
    """(name, CREATE statement) of every non-unique secondary index, as the schema has it."""
    if writer.pg:
        rows = writer.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%' ORDER BY indexname")
    else:
        rows = writer.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name")
    return [(str(name), str(sql)) for name, sql in rows]


def drop_indexes(writer: BulkWriter, indexes: list[tuple[str, str]]) -> None:
    writer.begin()
    for name, _ in indexes:
        writer.execute(f'DROP INDEX IF EXISTS "{name}"')
    writer.commit()


def create_indexes(writer: BulkWriter, indexes: list[tuple[str, str]], progress: Any = None) -> None:
    """Recreate what :func:`drop_indexes` dropped (skipping any that exist again)."""
    present = {name for name, _ in secondary_indexes(writer)}
    for name, sql in indexes:
        if name not in present:
            writer.begin()
            writer.execute(sql)
            writer.commit()
        if progress is not None:
            progress.update(1)


def days(micros: np.ndarray) -> np.ndarray:
    """Whole UTC days since the epoch of µs moments."""
    return micros // (86_400 * _SECOND)


def us(seconds: float | np.ndarray) -> Any:
    """Seconds as integer µs (scalars stay Python ints)."""
    if isinstance(seconds, np.ndarray):
        return (seconds * _SECOND).astype(np.int64)
    return int(seconds * _SECOND)
