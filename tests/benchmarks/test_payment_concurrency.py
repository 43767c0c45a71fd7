"""The suite's «payments at once» part stays runnable on PostgreSQL: at a tiny size every
payer process pays all its invoices, the race for one invoice charges it once, and the
figures are the ones ``latest.json`` promises. No timing is asserted here."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from benchmarks import payment_concurrency as pc
from core.db.models import Invoice, Payment, Receipt
from core.payments.machine import PaymentStatus
from tests.conftest import PG_SKIP_REASON, PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)

PAYMENTS, LEVELS, CONTESTED = 2, (1, 2), 3


def test_payers_at_once_pay_every_invoice_and_the_race_charges_once(tmp_path: Path) -> None:
    assert PG_URL
    with pc.own_database(PG_URL, "payers") as url:
        levels, contest = pc.measure(url, tmp_path, PAYMENTS, LEVELS, CONTESTED)
        figures = pc.figures(levels, contest)
        engine = create_engine(url)
        with engine.connect() as conn:
            statuses = dict(conn.execute(select(Payment.status, func.count())
                                         .group_by(Payment.status)).all())
            unpaid = conn.scalar(select(func.count()).select_from(Invoice)
                                 .where(Invoice.paid_amount != Invoice.total_due))
            per_invoice = conn.execute(select(func.count()).select_from(Payment)
                                       .group_by(Payment.invoice_id)).scalars().all()
            receipts = conn.scalar(select(func.count()).select_from(Receipt))
        engine.dispose()

    measured = PAYMENTS * sum(LEVELS)
    warm_ups = sum(LEVELS)  # each process pays one invoice before the clock
    assert [level.payments for level in levels] == [PAYMENTS * n for n in LEVELS]
    assert [len(level.results) for level in levels] == list(LEVELS)
    # Every invoice paid once, by one payment: the race's too (its loser wrote nothing).
    assert statuses == {PaymentStatus.SUCCEEDED.value: measured + warm_ups + CONTESTED}
    assert unpaid == 0 and set(per_invoice) == {1} and receipts == sum(statuses.values())
    refusals = [m for r in contest for m in r.refusals]
    assert len(refusals) == CONTESTED
    assert all(m.startswith(("Счёт уже оплачивается", "Счёт уже оплачен")) for m in refusals)
    # Per level: payments/s, then p50 and p95 of each step, then the race.
    assert len(figures) == len(LEVELS) * (1 + 2 * len(pc.STEPS)) + 1
    for f in figures:
        assert set(asdict(f)) == {"name", "value", "unit", "baseline_name", "baseline_value",
                                  "ratio", "target"}
        assert f.value > 0 and f.baseline_value > 0
    assert figures[-1].value == 1.0  # one charge per contested invoice
    # The baseline repeats the flow's commits per step; the password is only read.
    commits = levels[0].results[0].commits
    assert commits["otp"] == 0 and all(commits[s] >= 1 for s in ("start", "card", "confirm"))
