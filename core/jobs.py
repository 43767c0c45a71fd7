"""The periodic jobs ``python -m core worker`` runs (see core.worker for the loop).

Each job is one service call that is safe to repeat and to run in parallel with
the dashboard: everything it changes is decided under the payment's row lock.
"""
from __future__ import annotations

from datetime import timedelta

from core.db.statistics import refresh_app_statistics
from core.analytics import invoice_snapshot
from core.notifications import subscription_rollup
from core.payments import binding_holds, recovery, receipts, refunds
from core.finance import settlement
from core.worker import Job, outbox_job


def payment_jobs() -> list[Job]:
    return [
        # Payments whose gateway answer was lost: asked about on their schedule.
        Job("payments.recover", timedelta(seconds=30), recovery.recover_due),
        # Abandoned payments and passwords that ran out: no gateway call needed.
        Job("payments.expire", timedelta(seconds=15), recovery.expire_stale),
        # Refunds whose answer was lost: repeated with the same key.
        Job("refunds.retry", timedelta(minutes=1), refunds.retry_requested),
        # Card checks' 1 ₽ holds left on the card (a reversal lost or refused): released.
        Job("card_bindings.release_holds", timedelta(minutes=1), binding_holds.release_due),
        # Receipts waiting for the fiscal register.
        Job("receipts.fiscalise", timedelta(seconds=20), receipts.fiscalise_due),
        # Yesterday's acquirer registry booked to the ledger (a no-op once booked).
        Job("ledger.settle", timedelta(hours=1), settlement.settle_yesterday),
    ]


def maintenance_jobs() -> list[Job]:
    # The planner's statistics: the tables grow by thousands of rows a day.
    return [Job("db.statistics", timedelta(days=1), refresh_app_statistics),
            # «Аналитика»'s invoice snapshot: the recent months often, every month daily
            # (an old unpaid invoice turns overdue by the calendar alone).
            Job("analytics.invoices", timedelta(minutes=10), invoice_snapshot.refresh_recent),
            Job("analytics.invoices.all", timedelta(days=1), invoice_snapshot.refresh_all),
            # «Подписки и рассылки»'s counts over every active cabinet (two aggregates).
            Job("subscriptions.counts", subscription_rollup.REFRESH_EVERY,
                subscription_rollup.refresh)]


def all_jobs() -> list[Job]:
    return [outbox_job(), *payment_jobs(), *maintenance_jobs()]
