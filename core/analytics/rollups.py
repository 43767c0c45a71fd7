"""Daily rollups of final payments, for analytics that never GROUP BY the raw table.

One row per (Moscow day of creation, provider, outcome, decline code, saved card or
not, shard): counts and sums. A successful payment's shard is its id modulo
:data:`SHARDS`, so that payments confirmed at once (consecutive ids) add to different
rows: one row per key made every confirmation of a provider's day wait for the previous
one's commit, since the upsert holds its row lock until then. Refusals stay in shard 0:
two of one provider, day and reason at once are rare, and their keys are many, so
sharding them would multiply the rows the analytics read for little. Readers sum over
the shards; the rebuild computes the same shard, so it reproduces the incremental rows
exactly.

Kept up to date inside the payment's own transaction — when
a payment reaches a final outcome (:func:`payment_finalised`) and when money is
refunded (:func:`payment_refunded`) — and rebuildable from the payments table
(:func:`rebuild`, ``python -m core analytics rebuild``) after a bulk load.
"""
from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import Boolean, and_, case, delete, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from core.db.models import Payment, PaymentDailyStat
from core.payments.machine import PaymentStatus
from core.paging import moscow_day
from core.timefmt import moscow_date, moscow_day_start

# What a final payment counts as: refunds do not change its outcome, they add to
# ``refunded`` (the money came in, part of it went back).
OUTCOME: dict[str, str] = {
    PaymentStatus.SUCCEEDED.value: "succeeded",
    PaymentStatus.PARTIALLY_REFUNDED.value: "succeeded",
    PaymentStatus.REFUNDED.value: "succeeded",
    PaymentStatus.DECLINED.value: "declined",
    PaymentStatus.FAILED.value: "failed",
    PaymentStatus.EXPIRED.value: "expired",
}
_KEY = ("day", "provider_id", "outcome", "decline_code", "saved_card", "shard")
# Concurrent confirmations hit distinct rows while fewer than this many are in flight
# (their ids are close together); the analytics read up to this many rows per
# successful key (a year of 5 providers at 1M payments: 87,600 rows instead of 32,850).
SHARDS = 16


def _shard(payment_id: int, outcome: str) -> int:
    return payment_id % SHARDS if outcome == "succeeded" else 0


def _upsert(session: Session, values: dict[str, object], add: dict[str, object]) -> None:
    """Insert the row or add to its counters, atomically (ON CONFLICT DO UPDATE)."""
    with session.no_autoflush:  # nothing pending is needed: no early UPDATE
        session.execute(_upsert_statement(session.get_bind().dialect.name, tuple(add)), values)


@functools.cache
def _upsert_statement(dialect: str, add: tuple[str, ...]) -> Insert:
    # Built once per dialect and counter set, values bound at execution: this runs in
    # every payment's final transaction. On the table, not the entity: a plain INSERT
    # without the ORM's bulk machinery.
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = PaymentDailyStat.__table__
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={name: table.c[name] + statement.excluded[name] for name in add})


def _key(payment: Payment) -> dict[str, object]:
    outcome = OUTCOME[payment.status]
    return {"day": moscow_date(payment.created_at), "provider_id": payment.provider_id,
            "outcome": outcome,
            "decline_code": "" if outcome == "succeeded" else (payment.decline_code or ""),
            "saved_card": payment.saved_card_id is not None, "shard": _shard(payment.id, outcome)}


def payment_finalised(session: Session, payment: Payment) -> None:
    """Count a payment that just reached its final outcome (called once per payment)."""
    charged = OUTCOME[payment.status] == "succeeded"
    counters = {"payments": 1, "amount": payment.amount if charged else 0,
                "commission": payment.commission if charged else 0, "refunded": 0}
    _upsert(session, {**_key(payment), **counters}, counters)


def payment_refunded(session: Session, payment: Payment, amount: int) -> None:
    counters = {"payments": 0, "amount": 0, "commission": 0, "refunded": amount}
    _upsert(session, {**_key(payment), **counters}, {"refunded": amount})


def rebuild(session: Session, *, since: date | None = None) -> int:
    """Recompute the rollups from the payments (all days, or from ``since``); returns
    the rows written. One INSERT … SELECT: the database does the grouping."""
    day = moscow_day(session, Payment.created_at)
    outcome = case(*[(Payment.status == status, literal(name))
                     for status, name in OUTCOME.items()])
    charged = outcome == "succeeded"
    shard = case((charged, Payment.id % SHARDS), else_=0).label("shard")  # as _shard
    source = (select(day.label("day"), Payment.provider_id, outcome.label("outcome"),
                     case((charged, literal("")), else_=func.coalesce(Payment.decline_code, ""))
                     .label("decline_code"),
                     (Payment.saved_card_id.is_not(None)).cast(Boolean).label("saved_card"),
                     shard,
                     func.count().label("payments"),
                     func.sum(case((charged, Payment.amount), else_=0)).label("amount"),
                     func.sum(case((charged, Payment.commission), else_=0)).label("commission"),
                     func.sum(Payment.refunded_amount).label("refunded"))
              .where(Payment.status.in_(list(OUTCOME)))
              .group_by(day, Payment.provider_id, outcome, "decline_code", "saved_card",
                        "shard"))
    if since is not None:
        source = source.where(Payment.created_at >= moscow_day_start(since))
        session.execute(delete(PaymentDailyStat).where(PaymentDailyStat.day >= since))
    else:
        session.execute(delete(PaymentDailyStat))
    session.execute(PaymentDailyStat.__table__.insert().from_select(
        [*_KEY, "payments", "amount", "commission", "refunded"], source))
    written = select(func.count()).select_from(PaymentDailyStat)
    if since is not None:
        written = written.where(PaymentDailyStat.day >= since)
    return int(session.scalar(written) or 0)


def totals(session: Session, day_from: date, day_to: date) -> list[tuple[object, ...]]:
    """The rollups of a period (Moscow days, inclusive), one row per key: (day, provider,
    outcome, decline code, saved card, payments, amount, commission, refunded), the
    shards summed."""
    t = PaymentDailyStat
    keys = (t.day, t.provider_id, t.outcome, t.decline_code, t.saved_card)
    return [tuple(r) for r in session.execute(
        select(*keys, func.sum(t.payments), func.sum(t.amount), func.sum(t.commission),
               func.sum(t.refunded))
        .where(and_(t.day >= day_from, t.day <= day_to))
        .group_by(*keys).order_by(*keys))]
