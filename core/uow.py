"""Unit of work: one database transaction per service call.

Nothing is saved unless the service calls ``commit()``; leaving the block
without it rolls back, so a service that raises on bad input changes nothing.
A service that must both record something (a failed attempt) and refuse
commits first, then raises.

A database that cannot be reached or written surfaces as ``ServiceUnavailable``
(logged here with the driver's traceback), so callers never mistake it for a
refusal of their own (such as an ended session).
"""
from __future__ import annotations

import logging
from types import TracebackType

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.db.engine import SQLITE_IMMEDIATE
from core.errors import ServiceUnavailable

log = logging.getLogger(__name__)
# PostgreSQL's classes of errors of the server rather than of the statement: connection
# (08), insufficient resources such as a full disk (53), operator intervention such as
# a shutdown (57P), and a server or transaction that is read-only (25006).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "25006")


def is_unavailable(error: BaseException | None) -> bool:
    """An error of the database itself (the connection, the disk, a read-only file or
    server), not of the statement (a constraint, a refused rewrite)."""
    state = str(getattr(getattr(error, "orig", None), "sqlstate", None) or "")
    if isinstance(error, (OperationalError, InterfaceError)):
        # psycopg counts lock waits, deadlocks and serialization failures as
        # operational: they belong to the statement, and callers handle them.
        return not state.startswith(("40", "55P03"))
    return isinstance(error, DBAPIError) and state.startswith(_UNAVAILABLE_SQLSTATES)


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], *, write: bool = True) -> None:
        self._factory = session_factory
        self._write = write
        self.session: Session

    def __enter__(self) -> "UnitOfWork":
        self.session = self._factory()
        if self._write:
            try:
                # Opens the transaction now, as BEGIN IMMEDIATE on SQLite.
                self.session.connection(execution_options={SQLITE_IMMEDIATE: True})
            except DBAPIError as error:
                self.session.close()
                if not is_unavailable(error):
                    raise
                log.error("База данных недоступна", exc_info=error)
                raise ServiceUnavailable() from error
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # close() discards anything uncommitted (the connection rolls back) without
        # expiring loaded objects, so read models built from them stay usable.
        try:
            self.session.close()
        except DBAPIError:
            if exc is None:
                raise
        if is_unavailable(exc):
            log.error("База данных недоступна", exc_info=exc)
            raise ServiceUnavailable() from exc

    def commit(self) -> None:
        self.session.commit()

    def flush(self) -> None:
        self.session.flush()
