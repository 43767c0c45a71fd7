"""Before a run: which bank profile reads a registry file, and its first rows as read.

``detect_profile`` compares the file's header row with each profile's header spellings;
``preview_registry`` reads only the first rows of the file (a few kilobytes of a
million-line CSV) the way ``read_registry`` will read the whole, so finance sees the
columns, amounts and times, and the problems of those rows, before running.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from core.finance import bank_registry as br
from core.finance.bank_profile import BankProfile
from core.files.readers import FileUnreadable, RowProblem, read_columns
from core.money import format_kopecks
from core.timefmt import MOSCOW

PREVIEW_COLUMNS = ("Строка", "Дата и время (МСК)", "Операция", "ID транзакции", "RRN", "Карта",
                   "Сумма", "Комиссия банка", "К перечислению")
_OPERATION_LABELS = {"payment": "Оплата", "refund": "Возврат"}


@dataclass(frozen=True)
class RegistryPreview:
    profile: BankProfile
    rows: pd.DataFrame  # ``PREVIEW_COLUMNS`` (the cells as written where a row is refused)
    problems: tuple[RowProblem, ...]  # of the shown rows only

    @property
    def readable(self) -> bool:
        return not self.problems


def _score(file_name: str, data: bytes, profile: BankProfile) -> tuple[int, int] | None:
    """(columns matched, minus the profile's columns the file lacks); None: unreadable."""
    try:
        head = br._head(br._recode(file_name, data, profile.encoding), 0)
        columns = br.spellings(profile)
        table = read_columns(file_name, head, columns)
    except FileUnreadable:
        return None
    found = {n: i for i, n in enumerate(columns) if n not in table.missing}
    if not found or br.header_problems(br._resolve(found), profile):
        return None
    return len(found), -len(table.missing)


def detect_profile(file_name: str, data: bytes,
                   profiles: Sequence[BankProfile]) -> BankProfile | None:
    """The profile whose headers match the file's header row best: every column it
    needs present, then the most columns matched, then the fewest of its own missing;
    the first of equals. None: no profile reads the file."""
    best: tuple[tuple[int, int], int] | None = None
    for index, profile in enumerate(profiles):
        score = _score(file_name, data, profile)
        if score is not None and (best is None or score > best[0]):
            best = (score, index)
    return None if best is None else profiles[best[1]]


def _money(values: pd.Series) -> pd.Series:
    """Money as people read it («1 246,34 ₽»); "" where the file has no such column."""
    return pd.Series([format_kopecks(int(v)) if not pd.isna(v) else "" for v in values],
                     index=values.index, dtype="object")


def preview_registry(file_name: str, data: bytes, profile: BankProfile,
                     rows: int = 20) -> RegistryPreview:
    """The first ``rows`` lines as ``read_registry(file_name, data, profile)`` reads them
    (our labels, money as «1 234,56 ₽», times in Moscow) and the problems of those lines."""
    frame, problems = br.read_frame(file_name, data, profile, limit=rows)
    if problems:
        return RegistryPreview(profile, pd.DataFrame(columns=list(PREVIEW_COLUMNS)),
                               tuple(problems))
    frame = frame.head(rows)
    frame = frame.loc[~br._totals_mask(frame)].reset_index(drop=True)
    parsed, problems = br.parse_frame(frame, profile)
    if problems:
        text = br._complete(frame)
        shown = pd.DataFrame({
            "Строка": text["line_no"],
            "Дата и время (МСК)": text["time"], "Операция": text["operation"],
            "ID транзакции": text["txn_id"], "RRN": text["rrn"], "Карта": text["masked_pan"],
            "Сумма": text["amount"], "Комиссия банка": text["fee"],
            "К перечислению": text["net"]})
        return RegistryPreview(profile, shown, tuple(br._sorted(problems)))
    moscow = parsed["time"].dt.tz_convert(MOSCOW)
    when = moscow.dt.strftime("%d.%m.%Y %H:%M:%S").where(~parsed["day_only"],
                                                         moscow.dt.strftime("%d.%m.%Y"))
    shown = pd.DataFrame({
        "Строка": parsed["line_no"], "Дата и время (МСК)": when,
        "Операция": parsed["operation"].map(_OPERATION_LABELS),
        "ID транзакции": parsed["txn_id"], "RRN": parsed["rrn"], "Карта": parsed["masked_pan"],
        "Сумма": _money(parsed["amount"]), "Комиссия банка": _money(parsed["fee"]),
        "К перечислению": _money(parsed["net"])})
    return RegistryPreview(profile, shown, ())


__all__ = ["PREVIEW_COLUMNS", "RegistryPreview", "detect_profile", "preview_registry"]
