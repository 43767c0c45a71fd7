"""Column types shared by every table."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from sqlalchemy import DateTime, String, TypeDecorator
from sqlalchemy.orm import mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every database.

    SQLite keeps no offset and hands back naive values; comparing those with
    aware ones raises. Storing UTC and re-attaching the zone on read makes a
    moment mean the same thing on SQLite and PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


intpk = Annotated[int, mapped_column(primary_key=True)]
utc_moment = Annotated[datetime, mapped_column(UTCDateTime())]
str_short = Annotated[str, mapped_column(String(100))]
