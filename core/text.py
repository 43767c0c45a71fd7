"""The one rule every free-text field shares: no control characters.

PostgreSQL cannot store U+0000 in text (psycopg raises ``DataError``) and SQLite stores it and
cuts the value short where C code reads it; the other control characters (U+0001–U+001F,
U+007F–U+009F) are invisible on a page and in a message, so a name or a note holding them is
not what its author sees. A lone surrogate cannot be encoded to UTF-8 at all.

Tab, line feed and carriage return are the whitespace people do type or paste: a one-line field
folds them into a space (as its cleaner always did) and a multi-line one (a note, a template's
body) keeps its lines. Every other control character is refused, naming the field.
"""
from __future__ import annotations

import re

from core.errors import ValidationError

CONTROL_PROBLEM = "уберите управляющие символы"
# Category Cc but the three kinds of whitespace, and the surrogates (category Cs).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(value: str | None) -> bool:
    return bool(value) and _FORBIDDEN.search(str(value)) is not None


def refuse_control_characters(raw: str | None, label: str, field: str | None = None) -> str:
    """``raw`` as it is (``""`` for None), or ValidationError «<label>: уберите управляющие
    символы». Every cleaner of typed text calls it before anything else."""
    value = "" if raw is None else str(raw)
    if _FORBIDDEN.search(value):
        raise ValidationError(label, CONTROL_PROBLEM, field=field)
    return value
