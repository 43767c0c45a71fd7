"""Scale demo, billing: 12 monthly invoices per personal account with their charge lines,
drawn per provider as (invoices x lines) arrays with the rich demo's tariffs, seasons and
occasional recalculations. Nothing is written until ``write_invoices``: the payments
decide first what each invoice was paid, and the lines must follow their invoices
(PostgreSQL checks foreign keys row by row).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import repeat

import numpy as np

from core.demo.billing import MONTHS, PROVIDERS, _period
from core.demo.scale.writer import BulkWriter, us
from core.billing.invoice_rules import add_months

# Period index j = 0 (eleven months back) .. 11 (the current month).
PERIODS = [_period(MONTHS - 1 - j) for j in range(MONTHS)]
DUE = [date(p.year + p.month // 12, p.month % 12 + 1, 25) for p in PERIODS]
WINTER = np.array([1.0 if p.month in (11, 12, 1, 2, 3) else -1.0 for p in PERIODS])
CURRENT = MONTHS - 1


def _moment_us(day: date, hour: float) -> int:
    at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)
    return us(at.timestamp())


def windows(now: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per period: when its invoice arrived, the end of its due day (Moscow), and the
    end of the paying window (ten days late at most, never after an hour ago)."""
    latest = now - us(3_600)
    issued = np.array([min(_moment_us(add_months(p, 1), 5), now - us(4 * 86_400))
                       for p in PERIODS])
    end = np.array([min(_moment_us(d, 20.9) + us(10 * 86_400), latest) for d in DUE])
    on_time = np.minimum(np.array([_moment_us(d, 20.9) for d in DUE]), end)
    return issued, on_time, end


@dataclass
class Invoices:
    ids: np.ndarray
    account: np.ndarray  # position of the account in the chunk
    period: np.ndarray  # index into PERIODS
    total: np.ndarray  # kopecks
    lines: list[tuple[Iterator[tuple[object, ...]], int]] = field(default_factory=list)


LINE_COLUMNS = ("id", "invoice_id", "line_no", "service", "unit", "volume", "tariff", "accrued",
                "recalculation", "debt", "total")


def make_invoices(w: BulkWriter, rng: np.random.Generator, acc_provider: np.ndarray) -> Invoices:
    """Invoice amounts for every account (account-major, periods ascending) and their
    charge lines, ready to be written by ``write_invoices``."""
    n_acc = len(acc_provider)
    first = w.next_id("invoices")
    ids = first + np.arange(n_acc * MONTHS)
    total = np.zeros((n_acc, MONTHS), dtype=np.int64)
    pending: list[tuple[Iterator[tuple[object, ...]], int]] = []
    scale = rng.uniform(0.6, 1.6, n_acc)
    line_id = w.next_id("invoice_lines")
    for p, spec in enumerate(PROVIDERS):
        accounts = np.flatnonzero(acc_provider == p)
        if not len(accounts):
            continue
        lines = len(spec.lines)
        shape = (len(accounts), MONTHS, lines)
        mean = np.array([ln[3] for ln in spec.lines])
        seasonal = np.array([ln[4] for ln in spec.lines])
        tariff = np.array([ln[2] for ln in spec.lines], dtype=np.int64)
        volume = np.round(np.maximum(0.0, mean * scale[accounts, None, None]
                                     * (1 + seasonal * WINTER[None, :, None]
                                        * rng.uniform(0.3, 1.0, shape))
                                     * rng.uniform(0.85, 1.15, shape)), 3)
        accrued = np.rint(volume * tariff).astype(np.int64)
        cut = (rng.random(shape) * (accrued // 10 + 1)).astype(np.int64)
        recalculation = np.where(rng.random(shape) < 0.05, -cut, 0)
        line_total = accrued + recalculation
        total[accounts] = line_total.sum(axis=2)
        invoice_ids = ids.reshape(n_acc, MONTHS)[accounts]
        m = volume.size
        services = [ln[0] for ln in spec.lines]
        units = [ln[1] for ln in spec.lines]
        per_invoice = m // lines
        pending.append((zip(range(line_id, line_id + m), np.repeat(invoice_ids.ravel(), lines).tolist(),
                     list(range(1, lines + 1)) * per_invoice, services * per_invoice,
                     units * per_invoice, volume.ravel().tolist(),
                     np.tile(tariff, per_invoice).tolist(), accrued.ravel().tolist(),
                     recalculation.ravel().tolist(), repeat(0), line_total.ravel().tolist()), m))
        line_id += m
    return Invoices(ids=ids, account=np.repeat(np.arange(n_acc), MONTHS),
                    period=np.tile(np.arange(MONTHS), n_acc), total=total.ravel(),
                    lines=pending)


def write_invoices(w: BulkWriter, inv: Invoices, acc_ids: np.ndarray, paid: np.ndarray,
                   now: int) -> None:
    """The invoice rows, with the paid amount and status their payments give, then
    their lines."""
    issued, _, _ = windows(now)
    period_text = np.array([p.isoformat() for p in PERIODS], dtype=object)
    due_text = np.array([d.isoformat() for d in DUE], dtype=object)
    created_text = np.array(w.stamps(issued), dtype=object)
    status = np.where(paid == 0, "unpaid", np.where(paid >= inv.total, "paid", "partially_paid"))
    w.insert("invoices", ("id", "provider_account_id", "period", "total_due", "due_date",
                          "status", "paid_amount", "created_at"),
             zip(inv.ids.tolist(), acc_ids[inv.account].tolist(), period_text[inv.period].tolist(),
                 inv.total.tolist(), due_text[inv.period].tolist(), status.tolist(),
                 paid.tolist(), created_text[inv.period].tolist()), len(inv.ids))
    for rows, count in inv.lines:
        w.insert("invoice_lines", LINE_COLUMNS, rows, count)
    inv.lines = []
