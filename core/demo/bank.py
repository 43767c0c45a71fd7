"""Tell the acquirer simulator about the demo's history.

The demo writes 12 months of payments straight into the database; the simulated
bank must know those transactions and saved-card tokens too, or a refund, a
status query or a payment with a demo customer's saved card would be answered
«Платёж не найден»; and its settlement registry must carry the demo's refunds, or a
reconciliation of it would find them «нет в банке». Run after the demo data
(``python -m core demo`` does).
"""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from core.app import App
from core.db.models import Payment, Refund, SavedCard
from core.payments.machine import CHARGED, PaymentStatus, values
from core.payments.simulator import HistoricCard, HistoricRefund, HistoricTxn
from core.timefmt import as_utc

_CHARGED = values(CHARGED)


def seed_bank(app: App) -> int:
    """Load every charged payment (and half of the pending ones), every succeeded refund
    and every saved card into the gateway, streamed in id order; returns the number of
    transactions it did not know yet."""
    gateway = app.acquirer()
    load = getattr(gateway, "load_history", None)
    if load is None:  # a real acquirer keeps its own history
        return 0
    with app.uow(write=False) as uow:
        s = uow.session
        cards = [HistoricCard(c.gateway_token, c.brand, c.masked_pan, c.exp_month, c.exp_year)
                 for c in s.scalars(select(SavedCard).where(SavedCard.removed_at.is_(None)))]
        # The refund's RRN as the demo stored it (a demo written before refunds kept one:
        # any stable number will do).
        made = [HistoricRefund(key, txn, amount, masked or "000000******0000",
                               rrn or f"{900_000_000_000 + refund_id % 10**11}", as_utc(at))
                for refund_id, key, txn, amount, masked, rrn, at in s.execute(select(
                    Refund.id, Refund.idempotency_key, Payment.gateway_txn_id, Refund.amount,
                    Payment.masked_pan, Refund.rrn, Refund.completed_at)
                    .join(Payment, Payment.id == Refund.payment_id)
                    .where(Refund.status == "succeeded", Refund.completed_at.is_not(None),
                           Payment.gateway_txn_id.is_not(None))
                    .order_by(Refund.id))]
        rows = s.execute(select(
            Payment.gateway_txn_id, Payment.amount + Payment.commission, Payment.masked_pan,
            Payment.card_brand, Payment.rrn, Payment.auth_code,
            func.coalesce(Payment.finalized_at, Payment.created_at), Payment.refunded_amount)
            .where(Payment.gateway_txn_id.is_not(None),
                   # The demo's payments whose answer was lost: the bank did charge every
                   # second one, so recovery has both outcomes to find.
                   or_(Payment.status.in_(_CHARGED),
                       and_(Payment.status == PaymentStatus.PENDING.value,
                            Payment.id % 2 == 0)))
            .order_by(Payment.id).execution_options(yield_per=20_000))
        # Streamed: a million-payment history never sits in memory as objects at once.
        txns = (HistoricTxn(txn_id=txn, amount_kopecks=total,
                            masked_pan=masked or "000000******0000", brand=brand or "visa",
                            rrn=rrn or "", auth_code=auth or "", at=as_utc(at),
                            refunded_kopecks=refunded)
                for txn, total, masked, brand, rrn, auth, at, refunded in rows)
        return int(load(txns, cards, made))
