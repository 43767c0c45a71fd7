"""Unit of work: one database transaction per service call.

Nothing is saved unless the service calls ``commit()``; leaving the block
without it rolls back, so a service that raises on bad input changes nothing.
A service that must both record something (a failed attempt) and refuse
commits first, then raises.
"""
from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from core.db.engine import SQLITE_IMMEDIATE


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], *, write: bool = True) -> None:
        self._factory = session_factory
        self._write = write
        self.session: Session

    def __enter__(self) -> "UnitOfWork":
        self.session = self._factory()
        if self._write:
            # Opens the transaction now, as BEGIN IMMEDIATE on SQLite.
            self.session.connection(execution_options={SQLITE_IMMEDIATE: True})
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # close() discards anything uncommitted (the connection rolls back) without
        # expiring loaded objects, so read models built from them stay usable.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def flush(self) -> None:
        self.session.flush()
