"""The daily rollups kept as payments finalise equal a rebuild from the raw rows."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select, text

from core.db import migrate
from core.db.models import PaymentDailyStat
from core.actors import StaffRole
from core.payments import flow, refunds, state
from core.payments.machine import PaymentStatus
from core.analytics import rollups
from tests.factories.customers import make_staff
from tests.factories.payment_flow import (DECLINED_CARD, ERROR_CARD, INSUFFICIENT_CARD,
                                          TIMEOUT_CHARGED_CARD, last_otp, pay_invoice,
                                          payer)


def _rows(app) -> set[tuple[object, ...]]:
    with app.uow(write=False) as uow:
        return {(r.day, r.provider_id, r.outcome, r.decline_code, r.saved_card, r.shard,
                 r.payments, r.amount, r.commission, r.refunded)
                for r in uow.session.scalars(select(PaymentDailyStat))}


def test_incremental_rollups_equal_a_rebuild(app, clock) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    first = payer(app, total_due=100_000)
    provider = first.provider_id
    paid = pay_invoice(app, first, save=True)
    pay_invoice(app, payer(app, total_due=50_000, provider_id=provider))
    pay_invoice(app, payer(app, provider_id=provider), DECLINED_CARD)
    pay_invoice(app, payer(app, provider_id=provider), INSUFFICIENT_CARD)
    pay_invoice(app, payer(app, provider_id=provider), ERROR_CARD)
    pay_invoice(app, payer(app, provider_id=provider), TIMEOUT_CHARGED_CARD)  # not final yet
    refunds.refund(app, finance, paid.id, "100", "Частичный возврат")
    clock.advance(days=1)
    pay_invoice(app, payer(app, total_due=70_000, provider_id=provider))
    incremental = _rows(app)
    first_day = sorted((r for r in incremental if r[2] == "succeeded" and r[0] == min(
        x[0] for x in incremental)), key=lambda r: r[4])
    # (saved card, payments, amount, refunded): the saved-card payment carries the refund
    assert [(r[4], r[6], r[7], r[9]) for r in first_day] == [
        (False, 1, 50_000, 0), (True, 1, 100_000, 10_000)]
    assert {r[5] for r in incremental if r[2] != "succeeded"} == {0}  # refusals: one row
    declines = {r[3]: r[6] for r in incremental if r[2] == "declined"}
    assert declines == {"issuer_declined": 1, "insufficient_funds": 1}
    assert {r[3] for r in incremental if r[2] == "failed"} == {"processing_error"}
    with app.uow() as uow:
        written = rollups.rebuild(uow.session)
        uow.commit()
    assert written == len(incremental)
    assert _rows(app) == incremental


def _sums(app) -> dict[tuple[object, ...], tuple[int, ...]]:
    """Per key without the shard: (payments, amount, commission, refunded)."""
    with app.uow(write=False) as uow:
        return {tuple(r[:5]): tuple(int(v) for v in r[5:])
                for r in rollups.totals(uow.session, date(2000, 1, 1), date(2100, 1, 1))}


def test_a_keys_payments_spread_over_shards_and_totals_sum_them(app) -> None:
    first = payer(app, total_due=100_000)
    views = [pay_invoice(app, first)] + [
        pay_invoice(app, payer(app, total_due=10_000 * n, provider_id=first.provider_id))
        for n in (2, 3)]
    with app.uow(write=False) as uow:
        rows = list(uow.session.scalars(select(PaymentDailyStat)))
    assert sorted(r.shard for r in rows) == sorted(v.id % rollups.SHARDS for v in views)
    assert len({r.shard for r in rows}) == 3  # consecutive payments: one row each
    [(key, sums)] = _sums(app).items()
    assert key[1:] == (first.provider_id, "succeeded", "", False)
    assert sums[:2] == (3, 150_000)


def test_the_migration_keeps_the_old_rows_sums(app, clock) -> None:
    """Down to 0032 (the revision before the shards) the shards fold into one row per
    key; back up, the old rows are shard 0 with the same sums, and new payments add to
    them exactly."""
    finance = make_staff(app, StaffRole.FINANCE)
    first = payer(app, total_due=100_000)
    provider = first.provider_id
    paid = pay_invoice(app, first)
    pay_invoice(app, payer(app, total_due=50_000, provider_id=provider))
    pay_invoice(app, payer(app, total_due=20_000, provider_id=provider))
    pay_invoice(app, payer(app, provider_id=provider), DECLINED_CARD)
    refunds.refund(app, finance, paid.id, "100", "Частичный возврат")
    before = _sums(app)
    assert before[next(k for k in before if k[2] == "succeeded")][:2] == (3, 170_000)
    migrate.downgrade(app.engine, "0032")
    with app.engine.connect() as conn:
        old = {tuple(r[:5]): tuple(int(v) for v in r[5:]) for r in conn.execute(text(
            "SELECT day, provider_id, outcome, decline_code, saved_card, payments, amount, "
            "commission, refunded FROM payment_daily_stats"))}
    assert len(old) == len(before)  # one row per key again
    assert {(k[1], k[2], k[3], bool(k[4])): v for k, v in old.items()} == {
        (k[1], k[2], k[3], bool(k[4])): v for k, v in before.items()}
    migrate.upgrade(app.engine)
    with app.uow(write=False) as uow:
        assert {r.shard for r in uow.session.scalars(select(PaymentDailyStat))} == {0}
    assert _sums(app) == before
    pay_invoice(app, payer(app, total_due=30_000, provider_id=provider))
    after = _sums(app)
    key = next(k for k in before if k[2] == "succeeded")
    assert after[key][:2] == (4, 200_000)
    assert after[key][3] == before[key][3] == 10_000
    with app.uow() as uow:
        rollups.rebuild(uow.session)
        uow.commit()
    assert _sums(app) == after


def test_confirmations_of_one_providers_day_at_once_do_not_queue_on_its_rollup(
        app, monkeypatch) -> None:
    """The first confirmation is held after its rollup upsert, before its commit (as a
    slow receipt or invoice would hold it); the second, same provider and day, must
    commit meanwhile. With one rollup row per key it waited for the first's commit."""
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks: BEGIN IMMEDIATE serialises the two")
    first = payer(app)
    second = payer(app, provider_id=first.provider_id)
    views = [pay_invoice(app, p, confirm=False) for p in (first, second)]
    assert all(v.awaiting_otp for v in views)
    codes = [last_otp(app, v.id) for v in views]
    assert views[0].id % rollups.SHARDS != views[1].id % rollups.SHARDS
    held, release = threading.Event(), threading.Event()
    real = state.invoices.apply_payment

    def apply_payment(session, invoice_id: int, amount: int):
        if invoice_id == first.invoice_id:
            held.set()
            release.wait(30)
        return real(session, invoice_id, amount)

    monkeypatch.setattr(state.invoices, "apply_payment", apply_payment)
    outcomes: dict[int, object] = {}

    def confirm(i: int, p) -> None:
        try:
            outcomes[i] = flow.confirm_payment(app, views[i].id, codes[i], token=p.token)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcomes[i] = error

    one = threading.Thread(target=confirm, args=(0, first), daemon=True)
    one.start()
    assert held.wait(15), outcomes
    two = threading.Thread(target=confirm, args=(1, second), daemon=True)
    two.start()
    two.join(timeout=15)
    finished = not two.is_alive()
    release.set()
    one.join(timeout=30)
    two.join(timeout=30)
    assert finished, "the second confirmation waited for the first one's rollup row"
    assert [getattr(outcomes[i], "status", None) for i in (0, 1)] == [
        PaymentStatus.SUCCEEDED] * 2, outcomes
    [(key, sums)] = _sums(app).items()
    assert key[1:] == (first.provider_id, "succeeded", "", False)
    assert sums[0] == 2
