"""«Карта: последние 4 цифры» reads an index: the database computes ``pan_last4`` from
the masked number on every write, whoever writes (services, bulk loaders)."""
from __future__ import annotations

from sqlalchemy import select, text, update

from core.app import App
from core.db.models import Payment
from core.actors import StaffRole
from core.paging import PageRequest
from core.payments import read_models as pv
from tests.factories.customers import make_staff
from tests.factories.billing import make_provider
from tests.factories.payments import make_payment


def _last4(app: App, payment_id: int) -> str | None:
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(Payment.pan_last4).where(Payment.id == payment_id))


def test_the_database_keeps_the_last_four_digits(app: App) -> None:
    provider = make_provider(app)
    mir = make_payment(app, provider_id=provider, masked_pan="220000******0004", events=False)
    long_pan = make_payment(app, provider_id=provider, masked_pan="220000*********0019",
                            events=False)
    no_card = make_payment(app, provider_id=provider, masked_pan=None, status="created",
                           events=False)
    assert (_last4(app, mir), _last4(app, long_pan), _last4(app, no_card)) == ("0004", "0019",
                                                                            None)
    with app.uow() as uow:  # the card arrives after the payment was created
        uow.session.execute(update(Payment).where(Payment.id == no_card)
                            .values(masked_pan="411111******1111"))
        uow.commit()
    assert _last4(app, no_card) == "1111"
    finance = make_staff(app, StaffRole.FINANCE)
    found = pv.list_payments(app, finance, pv.PaymentFilter(card="0004"), PageRequest(1, 25))
    assert [row.id for row in found.items] == [mir]
    by_mask = pv.list_payments(app, finance, pv.PaymentFilter(card="411111******1111"),
                               PageRequest(1, 25))
    assert [row.id for row in by_mask.items] == [no_card]


def test_the_filter_walks_the_last4_index(app: App) -> None:
    condition = pv.card_condition("1111")
    statement = select(Payment.id).where(condition)
    compiled = statement.compile(app.engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if app.engine.dialect.name == "sqlite" else "EXPLAIN "
    with app.engine.connect() as conn:
        if app.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # an empty table: force the choice
        plan = " ".join(str(row[-1]) for row in conn.execute(text(explain + str(compiled))))
    assert "ix_payments_pan_last4" in plan
