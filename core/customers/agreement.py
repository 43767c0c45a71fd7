"""The user agreement the registration form shows: its text and the version a registration
records (``USER_AGREEMENT_VERSION``), kept together so the text shown is the one accepted."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from core.config import USER_AGREEMENT_VERSION

_TEXT = Path(__file__).resolve().parent.parent / "data" / "user_agreement.md"


@dataclass(frozen=True)
class Agreement:
    version: str
    text: str


@cache
def current_agreement() -> Agreement:
    text = _TEXT.read_text(encoding="utf-8").strip()
    # The file names its edition: a text edited without a new version must not pass unseen.
    assert f"(редакция {USER_AGREEMENT_VERSION})" in text.splitlines()[0], \
        "core/data/user_agreement.md: its edition differs from USER_AGREEMENT_VERSION"
    return Agreement(USER_AGREEMENT_VERSION, text)
