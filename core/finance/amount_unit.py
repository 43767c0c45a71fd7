"""Is the file's amount unit the one it was read in? Our own payments say.

A bank that writes kopecks under a plain «Сумма» («13911» for 139,11 ₽) reads, as
rubles, a hundred times too much: nothing matches, and the run would store a million
false discrepancies. Before anything is stored, the file's amounts are compared with
ours for the period (``core.finance.reconciliation`` has them loaded anyway): when
fewer than half of the lines meet one of our amounts as read, but at least half meet
one a hundredth (or a hundred times) of it, or, for files whose lines are mostly not
ours by amount, the medians differ about a hundredfold, the unit is suspected. A few
discrepancies (a fee, a stranger's line) do not change the shares; a file of other
payments altogether has neither a share nor a ratio of 100.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MATCH_SHARE = 0.5  # of the lines: what «most amounts» means
RATIO_BAND = (70.0, 140.0)  # «about a hundredfold» of the medians
FEW_AS_READ = 0.1  # the medians alone decide only when so few lines meet ours as read
SAMPLE = 100_000  # lines looked at, evenly spread: shares, not a count (0.1 s at 1M lines)


@dataclass(frozen=True)
class UnitGuess:
    """The unit the amounts are likely written in, and the figures that say so."""

    unit: str  # "kopecks": read as rubles, written in kopecks; "rubles": the other way
    share: float  # of the file's lines meeting one of our amounts in that unit
    share_as_read: float
    ratio: float  # the file's median amount over ours, as read


def suspected_unit(bank: np.ndarray, ours: np.ndarray) -> UnitGuess | None:
    """``bank``: the file's amounts in kopecks as read; ``ours``: our amounts of the
    period (payments with commission and refunds). None: nothing to suspect."""
    bank = np.asarray(bank, dtype="int64")
    ours = np.sort(np.asarray(ours, dtype="int64"))
    if not len(bank) or not len(ours):
        return None  # nothing of ours to compare with: the unit cannot be told
    bank = bank[::max(1, len(bank) // SAMPLE)]

    def ours_share(amounts: np.ndarray) -> float:
        at = np.minimum(np.searchsorted(ours, amounts), len(ours) - 1)
        return float((ours[at] == amounts).mean())

    as_read = ours_share(bank)
    if as_read >= MATCH_SHARE:
        return None
    ratio = float(np.median(bank)) / max(float(np.median(ours)), 1.0)
    hundredth = ours_share(np.where(bank % 100 == 0, bank // 100, -1))
    hundredfold = ours_share(bank * 100)
    low, high = RATIO_BAND
    few = as_read < FEW_AS_READ
    if hundredth >= MATCH_SHARE or (few and low <= ratio <= high):
        return UnitGuess("kopecks", hundredth, as_read, ratio)
    if hundredfold >= MATCH_SHARE or (few and ratio > 0 and low <= 1 / ratio <= high):
        return UnitGuess("rubles", hundredfold, as_read, ratio)
    return None


__all__ = ["UnitGuess", "suspected_unit"]
