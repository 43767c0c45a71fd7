"""Server-side pages: a list never loads a whole table."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from core.errors import ValidationError

T = TypeVar("T")
PAGE_SIZES = (10, 25, 50, 100)


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


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.request.size))
