"""Server-side pages: a list never loads a whole table."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from datetime import date

    from sqlalchemy import Select
    from sqlalchemy.orm import Session

from core.errors import ValidationError

T = TypeVar("T")
PAGE_SIZES = (10, 25, 50, 100)
# Lists count at most this many matches: counting a whole large table for a
# page header costs more than the page itself. Past it the total reads «более 1000».
COUNT_CAP = 1000


@dataclass(frozen=True)
class PageRequest:
    number: int = 1  # 1-based
    size: int = 25

    def __post_init__(self) -> None:
        if self.size not in PAGE_SIZES:
            raise ValidationError("Строк на странице", f"одно из {', '.join(map(str, PAGE_SIZES))}")
        if self.number < 1:
            raise ValidationError("Страница", "номер страницы начинается с 1")

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    # For ``.limit(page.sql_limit).offset(page.sql_offset)``: the numbers written into
    # the SQL. With ``LIMIT ?`` SQLite's planner does not know the page is small and
    # chose, for the overdue invoices, to walk every invoice by provider and sort them
    # all (0.4 s at 528,000 invoices) instead of the status index (29 ms). Both are
    # validated ints, so nothing typed reaches the SQL text.
    @property
    def sql_limit(self) -> Any:
        from sqlalchemy import literal_column

        return literal_column(str(int(self.size)))

    @property
    def sql_offset(self) -> Any:
        from sqlalchemy import literal_column

        return literal_column(str(int(self.offset)))


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest
    total_capped: bool = False  # there are more than ``total`` matches

    @property
    def total_text(self) -> str:
        return f"более {self.total}" if self.total_capped else str(self.total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.request.size))


def capped_count(session: "Session", query: "Select[Any]") -> tuple[int, bool]:
    """Count the rows of ``query`` up to COUNT_CAP; (count, capped)."""
    from sqlalchemy import func, select

    limited = query.limit(COUNT_CAP + 1).subquery()
    count = int(session.scalar(select(func.count()).select_from(limited)) or 0)
    return min(count, COUNT_CAP), count > COUNT_CAP


def moscow_date_conditions(column: Any, date_from: "date | None",
                           date_to: "date | None") -> list[Any]:
    """SQL conditions for «с … по …» over a UTC timestamp column, both Moscow days inclusive."""
    from datetime import timedelta

    from core.timefmt import moscow_day_start

    if date_from and date_to and date_from > date_to:
        raise ValidationError("Период", "дата «с» позже даты «по»", field="date_from")
    conditions: list[Any] = []
    if date_from:
        conditions.append(column >= moscow_day_start(date_from))
    if date_to:
        conditions.append(column < moscow_day_start(date_to + timedelta(days=1)))
    return conditions


def moscow_day(session: Any, column: Any) -> Any:
    """SQL: the Moscow calendar day of a UTC timestamp column. Moscow has kept UTC+3
    all year since 2014, so SQLite (which has no time zones) may add three hours."""
    from sqlalchemy import func

    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, "+3 hours")
    return func.date(func.timezone("Europe/Moscow", column))
