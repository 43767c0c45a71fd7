"""Demo receipts, for the rich demo (``core.demo.payments``) and the scale data set
(``core.demo.scale.payments``) alike: one receipt per payment that moved money, as
``core.payments.state.succeed`` writes it, already fiscalised by the simulated register a
few seconds after the payment (what the worker's ``receipts.fiscalise_due`` would have
done), so a demo payment's card offers its receipt and the worker finds nothing to do.

The fiscal data is what ``core.payments.fiscal.FiscalSimulator`` answers: the simulator's
fiscal drive, ФД = ``first_document_number`` onwards (gap-free, as on one drive), a
10-digit ФП and one register shift per Moscow day.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from core.payments.fiscal import (SIMULATOR_FISCAL_DRIVE_NUMBER,
                                  SIMULATOR_KKT_REGISTRATION_NUMBER, FiscalOperation)

_SECOND = 1_000_000  # the moments here are integer µs since the epoch (UTC)
_DAY = 86_400 * _SECOND
# 2025-01-01 00:00 Moscow (21:00 UTC the day before): the register's shifts count days.
SHIFT_EPOCH = 1_735_678_800 * _SECOND

# The receipt's columns after its id, in the order ``rows`` yields them.
COLUMNS = ("payment_id", "operation", "created_at", "sent_to", "fiscal_drive_number",
           "fiscal_document_number", "fiscal_sign", "kkt_registration_number", "shift_number",
           "fiscalised_at", "fiscal_attempts", "next_attempt_at")


@dataclass(frozen=True)
class DemoReceipts:
    """The receipts of ``payment_ids`` (in that order), as column arrays."""

    payment_ids: np.ndarray
    sent_to: Sequence[str | None]
    fiscalised_at: np.ndarray  # µs since the epoch, UTC: 1–5 s after the payment
    document_numbers: np.ndarray  # ФД
    signs: list[str]  # ФП, leading zeros kept
    shifts: np.ndarray

    def rows(self, created: Sequence[Any], fiscalised: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        """The rows in ``COLUMNS`` order; ``created`` and ``fiscalised`` are the moments as
        the caller's writer takes them (text for the bulk loader, datetimes for Core)."""
        return zip(self.payment_ids.tolist(), repeat(FiscalOperation.INCOME.value), created,
                   self.sent_to, repeat(SIMULATOR_FISCAL_DRIVE_NUMBER),
                   self.document_numbers.tolist(), self.signs,
                   repeat(SIMULATOR_KKT_REGISTRATION_NUMBER), self.shifts.tolist(), fiscalised,
                   repeat(1), repeat(None))


def demo_receipts(rng: np.random.Generator, payment_ids: np.ndarray, paid_at: np.ndarray,
                  sent_to: Sequence[str | None], *, first_document_number: int) -> DemoReceipts:
    """Receipts of successful payments that ended at ``paid_at`` (µs, UTC), sent to
    ``sent_to`` (the payer's e-mail), fiscalised by the simulated register."""
    k = len(payment_ids)
    done = np.asarray(paid_at, dtype=np.int64) + rng.integers(1, 6, k) * _SECOND
    signs = [f"{v:010d}" for v in rng.integers(0, 2**32, k).tolist()]
    return DemoReceipts(
        payment_ids=np.asarray(payment_ids, dtype=np.int64), sent_to=sent_to,
        fiscalised_at=done, document_numbers=first_document_number + np.arange(k),
        signs=signs, shifts=(done - SHIFT_EPOCH) // _DAY + 1)
