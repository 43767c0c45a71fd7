"""Every demo payment that moved money has its fiscalised receipt (core.demo.receipts, shared
by the rich demo and the scale data set): the payment card offers it at once and the
worker's fiscalisation finds nothing left to do."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy import func, select

from core.actors import StaffActor, StaffRole
from core.db.models import Payment, Receipt, StaffUser
from core.demo.receipts import demo_receipts
from core.demo.rich import seed_demo
from core.payments import machine, receipts
from core.payments.fiscal import SIMULATOR_FISCAL_DRIVE_NUMBER, SIMULATOR_KKT_REGISTRATION_NUMBER

CHARGED = machine.values(machine.CHARGED)
MSK = timezone(timedelta(hours=3))


def test_every_successful_demo_payment_has_a_fiscalised_receipt(app) -> None:
    seed_demo(app, customers=40, seed=2)
    with app.uow(write=False) as uow:
        s = uow.session
        charged = {pid: (status, at, email, customer_id) for pid, status, at, email, customer_id
                   in s.execute(select(Payment.id, Payment.status, Payment.finalized_at,
                                       Payment.receipt_email, Payment.customer_id)
                                .where(Payment.status.in_(CHARGED)))}
        rows = s.scalars(select(Receipt).order_by(Receipt.id)).all()
        not_charged = s.scalar(select(func.count()).select_from(Receipt).join(
            Payment, Payment.id == Receipt.payment_id).where(Payment.status.not_in(CHARGED)))
        finance = s.scalar(select(StaffUser.id).where(StaffUser.login == "finance"))
    assert len(charged) > 100
    assert len(rows) == len(charged) and {r.payment_id for r in rows} == set(charged)
    assert not_charged == 0
    for r in rows:
        status, paid_at, email, customer_id = charged[r.payment_id]
        assert r.operation == "income" and r.fiscal_attempts == 1 and r.next_attempt_at is None
        assert r.fiscal_drive_number == SIMULATOR_FISCAL_DRIVE_NUMBER
        assert r.kkt_registration_number == SIMULATOR_KKT_REGISTRATION_NUMBER
        assert r.fiscal_sign is not None and len(r.fiscal_sign) == 10 and r.fiscal_sign.isdigit()
        assert r.shift_number is not None and r.shift_number > 0
        assert r.created_at == paid_at
        assert r.fiscalised_at is not None \
            and timedelta(seconds=1) <= r.fiscalised_at - paid_at <= timedelta(seconds=5)
        assert r.sent_to and "@" in r.sent_to
        if customer_id is None:
            assert r.sent_to == email
    # ФД gap-free on the demo's drive, as the register numbers them.
    assert sorted(r.fiscal_document_number for r in rows) == list(range(1, len(rows) + 1))

    # The worker's job has nothing left.
    report = receipts.fiscalise_due(app)
    assert (report.fiscalised, report.waiting) == (0, 0)

    # The payment card's receipt: a fiscal receipt with its ФД, not «Квитанция недоступна».
    refunded = next((pid for pid, (status, *_) in charged.items() if status != "succeeded"), None)
    actor = StaffActor(finance, "finance", StaffRole.FINANCE)
    for payment_id in (min(charged), refunded):
        assert payment_id is not None
        html = receipts.receipt_html(app, actor, payment_id)
        row = next(r for r in rows if r.payment_id == payment_id)
        assert "Кассовый чек" in html and str(row.fiscal_document_number) in html
        assert row.fiscal_sign in html
        assert receipts.receipt_pdf(app, actor, payment_id).startswith(b"%PDF")


def test_a_register_shift_is_a_moscow_day() -> None:
    """The demo's shifts change at Moscow midnight (the scale loader's used to change at
    21:00 Moscow: the offset was added twice)."""
    moments = [datetime(2025, 1, 1, 0, 0, 10, tzinfo=MSK), datetime(2025, 1, 1, 21, 30, tzinfo=MSK),
               datetime(2025, 1, 1, 23, 59, 0, tzinfo=MSK), datetime(2025, 1, 2, 0, 0, 0, tzinfo=MSK),
               datetime(2026, 11, 24, 12, 0, tzinfo=MSK)]
    micros = np.array([int(m.timestamp()) * 1_000_000 for m in moments], dtype=np.int64)
    made = demo_receipts(np.random.default_rng(1), np.arange(1, 6), micros, ["a@b.ru"] * 5,
                         first_document_number=7)
    assert made.shifts.tolist() == [1, 1, 1, 2, 693]
    assert made.document_numbers.tolist() == [7, 8, 9, 10, 11]
