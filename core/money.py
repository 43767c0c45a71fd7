"""Money: an integer number of kopecks inside, Decimal at the edges, never a float.

One rounding rule (half up, to the kopeck). Shown the Russian way: ``1 234,56 ₽``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_SPACES = re.compile(r"[\s\u00a0\u202f]")


class MoneyFormatError(ValueError):
    """Text that is not an amount; callers turn it into a ValidationError naming the field."""


@dataclass(frozen=True, order=True)
class Money:
    kopecks: int

    def __post_init__(self) -> None:
        if isinstance(self.kopecks, bool) or not isinstance(self.kopecks, int):
            raise TypeError("Money holds an integer number of kopecks")

    @classmethod
    def rubles(cls, value: Decimal | int | str) -> "Money":
        if isinstance(value, float):
            raise TypeError("Money refuses float: pass Decimal or str")
        amount = Decimal(value) if not isinstance(value, Decimal) else value
        return cls(int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)))

    @classmethod
    def parse(cls, text: str, *, max_decimals: int = 2) -> "Money":
        """«1 234,56», «1234.56», «-12,5», «1 234» (any spaces as thousands separators)."""
        value = _SPACES.sub("", str(text or "")).replace(",", ".")
        if not re.fullmatch(r"-?\d+(\.\d+)?", value):
            raise MoneyFormatError(text)
        if "." in value and len(value.split(".")[1]) > max_decimals:
            raise MoneyFormatError(text)
        try:
            return cls.rubles(Decimal(value))
        except InvalidOperation:
            raise MoneyFormatError(text) from None

    @property
    def amount(self) -> Decimal:
        return Decimal(self.kopecks) / 100

    def __add__(self, other: "Money") -> "Money":
        return Money(self.kopecks + other.kopecks)

    def __sub__(self, other: "Money") -> "Money":
        return Money(self.kopecks - other.kopecks)

    def __neg__(self) -> "Money":
        return Money(-self.kopecks)

    def percent(self, basis_points: int) -> "Money":
        """This amount times ``basis_points``/10,000 (150 bp = 1.50 %), rounded half up."""
        exact = Decimal(self.kopecks) * basis_points / Decimal(10_000)
        return Money(int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)))

    def format(self) -> str:
        sign = "-" if self.kopecks < 0 else ""
        rubles, kopecks = divmod(abs(self.kopecks), 100)
        grouped = f"{rubles:,}".replace(",", "\u00a0")
        return f"{sign}{grouped},{kopecks:02d}\u00a0₽"

    def __str__(self) -> str:
        return self.format()


ZERO = Money(0)


def format_kopecks(kopecks: int | None) -> str:
    return "—" if kopecks is None else Money(kopecks).format()
