"""Tell the acquirer simulator about the demo's history.

The demo writes 12 months of payments straight into the database; the simulated
bank must know those transactions and saved-card tokens too, or a refund, a
status query or a payment with a demo customer's saved card would be answered
«Платёж не найден». Run after the demo data (``python -m core demo`` does).
"""
from __future__ import annotations

from sqlalchemy import select

from core.app import App
from core.db.models import Payment, SavedCard
from core.payments.machine import PaymentStatus
from core.payments.simulator import HistoricCard, HistoricTxn

_CHARGED = [PaymentStatus.SUCCEEDED.value, PaymentStatus.PARTIALLY_REFUNDED.value,
            PaymentStatus.REFUNDED.value]


def seed_bank(app: App) -> int:
    """Load every charged payment and every saved card into the gateway; returns the
    number of transactions it did not know yet."""
    gateway = app.acquirer()
    load = getattr(gateway, "load_history", None)
    if load is None:  # a real acquirer keeps its own history
        return 0
    with app.uow(write=False) as uow:
        s = uow.session
        txns = [HistoricTxn(txn_id=p.gateway_txn_id, amount_kopecks=p.amount + p.commission,
                            masked_pan=p.masked_pan or "000000******0000",
                            brand=p.card_brand or "visa", rrn=p.rrn or "",
                            auth_code=p.auth_code or "",
                            at=p.finalized_at or p.created_at, refunded_kopecks=p.refunded_amount)
                for p in s.scalars(select(Payment).where(Payment.status.in_(_CHARGED),
                                                         Payment.gateway_txn_id.is_not(None)))]
        cards = [HistoricCard(c.gateway_token, c.brand, c.masked_pan, c.exp_month, c.exp_year)
                 for c in s.scalars(select(SavedCard).where(SavedCard.removed_at.is_(None)))]
    return int(load(txns, cards))
