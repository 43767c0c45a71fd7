"""Money: an integer number of kopecks inside, Decimal at the edges, never a float.

One rounding rule (half up, to the kopeck). Shown the Russian way: ``1 234,56 ₽``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

_SPACES = re.compile(r"[\s\u00a0\u202f]")
_GROUP_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
# Loose: any spaces anywhere are dropped first (what a person types in a form).
_LOOSE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)
# Grouped: spaces only between thousands groups (what files hold: «1 234,56»).
_GROUPED = re.compile(r"([+-]?)(\d+|\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+)(?:[.,](\d+))?")


class MoneyFormatError(ValueError):
    """Text that is not an amount; callers turn it into a ValidationError naming the field.

    ``reason``: ``"empty"``, ``"not_a_number"``, ``"too_precise"`` (more decimals than
    allowed), ``"negative"`` (a sign where none is allowed) or ``"too_long"`` (more whole
    digits than any amount has)."""

    def __init__(self, text: object, reason: str = "not_a_number") -> None:
        super().__init__(f"{reason}: {text!r}")
        self.text, self.reason = text, reason


_MAX_WHOLE_DIGITS = 15  # rubles; far above any amount we take, and within Decimal's context


def parse_rubles(text: object, *, grouped: bool = False, signed: bool = True,
                 max_decimals: int = 2, trailing_zeros: bool = False) -> "Money":
    """The one reader of rubles as people write them («1 234,56», «1234.56», «100»).

    ``grouped``: spaces only as thousands separators (files), else any spaces are dropped
    (forms); ``signed``: a minus is allowed, else refused as ``"negative"``;
    ``trailing_zeros``: «1,500» counts as two decimals (files and filters). Raises
    :class:`MoneyFormatError` with the reason; callers word it for their field."""
    raw = str(text if text is not None else "")
    if grouped:
        match = _GROUPED.fullmatch(raw.strip())
    else:
        match = _LOOSE.fullmatch(_SPACES.sub("", raw).replace(",", "."))
    if not raw.strip():
        raise MoneyFormatError(text, "empty")
    if match is None:
        raise MoneyFormatError(text, "not_a_number")
    sign, whole, fraction = match.groups()
    if fraction is not None and trailing_zeros:
        fraction = fraction.rstrip("0") or None
    if fraction is not None and len(fraction) > max_decimals:
        raise MoneyFormatError(text, "too_precise")
    if sign == "-" and not signed:
        raise MoneyFormatError(text, "negative")
    whole = _GROUP_SPACES.sub("", whole)
    if len(whole.lstrip("0")) > _MAX_WHOLE_DIGITS:
        raise MoneyFormatError(text, "too_long")
    value = Decimal(f"{whole}.{fraction}" if fraction else whole)
    return Money.rubles(-value if sign == "-" else value)


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
        return parse_rubles(text, max_decimals=max_decimals)

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
