"""What was done about a discrepancy of «Сверка»: the short list finance picks from.

Pure words (the journal reads them too). ``paired`` is never picked: it is what a manual
pairing of a «нет у нас» line with a «нет в банке» payment records on both items.
"""
from __future__ import annotations

KINDS: dict[str, str] = {
    "refunded": "Деньги возвращены клиенту",
    "confirmed": "Платёж подтверждён банком",
    "bank_error": "Сообщено банку об ошибке",
    "written_off": "Списано",
    "paired": "Сопоставлено вручную",
}
CHOOSABLE = ("refunded", "confirmed", "bank_error", "written_off")
WRITTEN_OFF = "written_off"  # needs its reason in the comment
PAIRED = "paired"
NOT_RECORDED = "—"  # resolved before the kind was asked (the migration left it empty)


def kind_label(kind: str | None) -> str:
    if kind is None:
        return NOT_RECORDED
    return KINDS.get(kind, kind)
