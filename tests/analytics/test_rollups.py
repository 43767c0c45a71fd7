"""The daily rollups kept as payments finalise equal a rebuild from the raw rows."""
from __future__ import annotations

from sqlalchemy import select

from core.db.models import PaymentDailyStat
from core.actors import StaffRole
from core.payments import refunds
from core.analytics import rollups
from tests.factories.customers import make_staff
from tests.factories.payment_flow import (DECLINED_CARD, ERROR_CARD, INSUFFICIENT_CARD,
                                          TIMEOUT_CHARGED_CARD, pay_invoice, payer)


def _rows(app) -> set[tuple[object, ...]]:
    with app.uow(write=False) as uow:
        return {(r.day, r.provider_id, r.outcome, r.decline_code, r.saved_card, r.payments,
                 r.amount, r.commission, r.refunded)
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
    assert [(r[4], r[5], r[6], r[8]) for r in first_day] == [
        (False, 1, 50_000, 0), (True, 1, 100_000, 10_000)]
    declines = {r[3]: r[5] for r in incremental if r[2] == "declined"}
    assert declines == {"issuer_declined": 1, "insufficient_funds": 1}
    assert {r[3] for r in incremental if r[2] == "failed"} == {"processing_error"}
    with app.uow() as uow:
        written = rollups.rebuild(uow.session)
        uow.commit()
    assert written == len(incremental)
    assert _rows(app) == incremental
