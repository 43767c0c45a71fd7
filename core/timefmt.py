"""Russian formatting of moments: everything is stored in UTC, shown in Moscow time."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")


def as_utc(moment: datetime) -> datetime:
    """Databases hand back naive UTC (SQLite) or aware values (PostgreSQL): make them one."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_datetime_msk(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return as_utc(moment).astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M (МСК)")


def format_date(day: date | None) -> str:
    return "—" if day is None else day.strftime("%d.%m.%Y")


def moscow_day_start(day: date) -> datetime:
    """The UTC moment a Moscow calendar day begins: date filters are Moscow days."""
    return datetime.combine(day, time(0), MOSCOW).astimezone(timezone.utc)


def moscow_date(moment: datetime) -> date:
    """The Moscow calendar day a moment falls on."""
    return as_utc(moment).astimezone(MOSCOW).date()


def format_until(moment: datetime) -> str:
    """«25.11.2026 14:05 (МСК)»: lockout messages say when the lock ends."""
    return format_datetime_msk(moment)
