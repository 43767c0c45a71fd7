"""What a number typed into the customer search means for the cabinets' phones.

Agents type what a caller dictates: the whole phone, its beginning after «+7» or «8»
(«+7 (916) 852»), or a run of digits from anywhere in it, most often the last seven
(«852-96-93», «8529693»), with spaces, dashes, brackets or dots between the digits.
Every stored phone is a Russian mobile, ``+79XXXXXXXXX`` (``rules.normalize_phone``).

A beginning is one range of the phone's unique index. A run from the middle is a
handful of such ranges when it is long: seven digits can stand at only five places
in «79» and nine digits, and the digits before it are at most two free ones (13
ranges and the 100 whole phones a tail can end, ≈0.5 ms on SQLite and ≈3 ms on
PostgreSQL at 200,000 cabinets, where a ``LIKE '%…%'`` reads the whole index, ≈20 ms). A shorter run has too many places
for that (six digits: 1,113 ranges, slower than the scan) and is looked for with
``LIKE``, whose page and count are bounded by the caller.
"""
from __future__ import annotations

import re

from sqlalchemy import ColumnElement, and_, false, or_

from core.customers.rules import try_normalize_phone
from core.db.models import Customer

# Fewer digits are in too many phones to mean one caller («912» is in every third).
PHONE_RUN_MIN = 4
# Digits and what people put between them; anything else is not a phone.
_PHONE_TEXT = re.compile(r"[\d\s().+\-]+")
# «79» and nine free digits: the digits of every stored phone after its «+».
_PHONE_DIGITS = "79" + "?" * 9
# A longer list of ranges costs more than reading the index once.
RANGES_MAX = 120


def looks_like_phone(text: str) -> bool:
    """Only digits and separators: the text is taken for a phone or a part of one."""
    return bool(_PHONE_TEXT.fullmatch(text)) and any(ch.isdigit() for ch in text)


def phone_condition(text: str) -> ColumnElement[bool]:
    """The cabinets whose phone ``text`` (see ``looks_like_phone``) points at."""
    whole = try_normalize_phone(text)
    if whole:
        return Customer.phone == whole
    digits = re.sub(r"\D", "", text)
    if len(digits) < PHONE_RUN_MIN:
        return false()
    head = text.lstrip(" (")
    if head.startswith("+"):
        # «+7 …» is the phone's beginning; a «+» with another country is no phone of ours.
        return _after_prefix(digits[1:]) if digits.startswith("7") else false()
    found = [_contains(digits)]
    if re.match(r"8(?:[\s().\-]|9)", head):
        # «8 916 852» is how people write +7 916 852; «8529693» is a run of its own.
        found.append(_after_prefix(digits[1:]))
    return or_(*found)


def _after_prefix(rest: str) -> ColumnElement[bool]:
    """What follows «+7» or «8»: the phone's beginning, or a run they put before a tail."""
    if rest.startswith("9"):
        return _starts_with("7" + rest)
    return _contains(rest) if len(rest) >= PHONE_RUN_MIN else false()


def _starts_with(digits: str) -> ColumnElement[bool]:
    # A range, not LIKE 'x%': SQLite's case-insensitive LIKE cannot use a binary index.
    if len(digits) > len(_PHONE_DIGITS):
        return false()
    start = "+" + digits
    return and_(Customer.phone >= start, Customer.phone < start + ":")  # «:» follows «9»


def _contains(digits: str) -> ColumnElement[bool]:
    if not may_be_in_a_phone(digits):
        return false()  # e.g. a personal account number: no phone scan for nothing
    beginnings = phone_beginnings(digits)
    if beginnings is None:
        return Customer.phone.like("%" + digits + "%")
    # A beginning as long as a phone is the phone: the hundred of a tail are one IN list
    # (one bound list, not two hundred comparisons for SQLAlchemy to build per search).
    whole = ["+" + b for b in beginnings if len(b) == len(_PHONE_DIGITS)]
    parts = [_starts_with(b) for b in beginnings if len(b) < len(_PHONE_DIGITS)]
    return or_(*parts, *([Customer.phone.in_(whole)] if whole else []))


def _places(digits: str) -> list[int]:
    """Where in «79» + nine digits ``digits`` can stand."""
    return [start for start in range(len(_PHONE_DIGITS) - len(digits) + 1)
            if all(t in ("?", d) for t, d in zip(_PHONE_DIGITS[start:], digits))]


def may_be_in_a_phone(digits: str) -> bool:
    """Whether ``digits`` can be a part of some stored phone."""
    return bool(_places(digits))


def phone_beginnings(digits: str) -> list[str] | None:
    """Every beginning (digits after «+») of a phone that holds ``digits``, or None when
    there are more than ``RANGES_MAX`` of them."""
    places = _places(digits)
    # Before a run at ``start`` stand «79» (as far as it reaches) and start - 2 free digits.
    if sum(10 ** max(0, start - 2) for start in places) > RANGES_MAX:
        return None
    beginnings = []
    for start in places:
        free = max(0, start - 2)
        fixed = _PHONE_DIGITS[:min(start, 2)]
        beginnings += [fixed + (f"{n:0{free}d}" if free else "") + digits
                       for n in range(10 ** free)]
    return beginnings
