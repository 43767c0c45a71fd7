"""Card input as the customer types it, checked before anything is sent to the gateway.

The number, expiry and CVV travel to the gateway in the same request in which they
are entered; we keep only the gateway's token, the brand, the expiry and the masked
number (first 6, last 4). So the CVV never appears in ``repr``/``str`` of a
``CardInput`` or in any error message, and the full number only through ``.number``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from core.errors import ValidationError
from core.text import refuse_control_characters

NUMBER_LABEL = "Номер карты"
EXPIRY_LABEL = "Срок действия карты"
CVV_LABEL = "CVV"
HOLDER_LABEL = "Владелец карты"
MIN_DIGITS, MAX_DIGITS = 13, 19
MAX_YEARS_AHEAD = 20  # issuers print at most ~10 years; more is a typo

_SEPARATORS = re.compile(r"[\s\u00a0\-]")


class Brand(StrEnum):
    """The payment system, by the number's first digits (IIN ranges)."""

    VISA = "visa"  # starts with 4
    MASTERCARD = "mastercard"  # 51–55 or 2221–2720
    MIR = "mir"  # 2200–2204


# How a card's brand is written for people: receipts, payment cards, saved cards.
BRAND_LABELS: dict[str, str] = {"visa": "Visa", "mastercard": "Mastercard", "mir": "Мир"}


def brand_label(brand: str | None) -> str:
    """«Visa», «Мир»; an unknown brand is shown as stored."""
    return BRAND_LABELS.get((brand or "").lower(), brand or "")


def digits_only(number: str) -> str:
    """The number without the spaces or dashes people type between groups."""
    return _SEPARATORS.sub("", str(number or ""))


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def detect_brand(number: str) -> Brand | None:
    digits = digits_only(number)
    if digits.startswith("4"):
        return Brand.VISA
    if len(digits) >= 4 and 2200 <= int(digits[:4]) <= 2204:
        return Brand.MIR
    if len(digits) >= 2 and 51 <= int(digits[:2]) <= 55:
        return Brand.MASTERCARD
    if len(digits) >= 4 and 2221 <= int(digits[:4]) <= 2720:
        return Brand.MASTERCARD
    return None


def mask(number: str) -> str:
    """``4111111111111111`` -> ``411111******1111``: the only form we keep or show."""
    digits = digits_only(number)
    if len(digits) < 10:
        return "*" * len(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def _full_year(year: int) -> int:
    return 2000 + year if 0 <= year < 100 else year


@dataclass(frozen=True)
class CardInput:
    """A card as entered. ``number`` is kept as digits only; ``exp_year`` as four digits.

    ``repr``/``str`` show the masked number and never the CVV.
    """

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvv: str = field(repr=False)
    holder: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "number", digits_only(self.number))
        object.__setattr__(self, "exp_year", _full_year(int(self.exp_year)))
        object.__setattr__(self, "cvv", str(self.cvv or "").strip())

    @property
    def masked(self) -> str:
        return mask(self.number)

    @property
    def brand(self) -> Brand | None:
        return detect_brand(self.number)

    def __repr__(self) -> str:
        return (f"CardInput(number={self.masked!r}, exp_month={self.exp_month}, "
                f"exp_year={self.exp_year}, cvv='***', holder={self.holder!r})")

    __str__ = __repr__

    def validate(self, today: date) -> CardInput:
        """Raise ``ValidationError`` naming the field; return self when all is well."""
        validate_number(self.number)
        validate_expiry(self.exp_month, self.exp_year, today)
        validate_cvv(self.cvv)
        refuse_control_characters(self.holder, HOLDER_LABEL, "holder")
        return self


def validate_number(number: str) -> Brand:
    digits = digits_only(number)
    if not digits.isdigit():
        raise ValidationError(NUMBER_LABEL, "только цифры", field="number")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise ValidationError(NUMBER_LABEL, f"от {MIN_DIGITS} до {MAX_DIGITS} цифр",
                              field="number")
    if not luhn_ok(digits):
        raise ValidationError(NUMBER_LABEL, "проверьте номер", field="number")
    brand = detect_brand(digits)
    if brand is None:
        raise ValidationError(NUMBER_LABEL, "принимаются карты Visa, Mastercard и «Мир»",
                              field="number")
    return brand


def validate_expiry(exp_month: int, exp_year: int, today: date) -> None:
    """A card is valid through the last day of its expiry month."""
    year = _full_year(int(exp_year))
    if not 1 <= int(exp_month) <= 12:
        raise ValidationError(EXPIRY_LABEL, "месяц от 01 до 12", field="expiry")
    if (year, int(exp_month)) < (today.year, today.month):
        raise ValidationError(EXPIRY_LABEL, "карта просрочена", field="expiry")
    if year > today.year + MAX_YEARS_AHEAD:
        raise ValidationError(EXPIRY_LABEL, "проверьте год", field="expiry")


def validate_cvv(cvv: str | None) -> None:
    # The message never echoes what was typed.
    if not re.fullmatch(r"\d{3}", str(cvv or "").strip()):
        raise ValidationError(CVV_LABEL, "три цифры с обратной стороны карты", field="cvv")
