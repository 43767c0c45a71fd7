"""Payments, their events, refunds and saved cards written straight with the ORM, so the
read models and pages are tested without the payment flow."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from core.app import App
from core.actors import ActorKind
from core.db.models import Payment, PaymentEventRecord, Refund, SavedCard
from core.payments.machine import PaymentStatus
from core.timefmt import as_utc

_seq = itertools.count(1)

# status -> the events that lead there from «created» (event, from, to)
_PATHS: dict[str, list[tuple[str, str | None, str]]] = {
    "created": [("authorize_sent", "created", "created")],
    "awaiting_otp": [("authorize_sent", "created", "created"),
                     ("otp_required", "created", "awaiting_otp")],
    "pending": [("authorize_sent", "created", "created"),
                ("gateway_timeout", "created", "pending")],
    "succeeded": [("authorize_sent", "created", "created"),
                  ("otp_required", "created", "awaiting_otp"),
                  ("otp_confirmed", "awaiting_otp", "succeeded")],
    "declined": [("authorize_sent", "created", "created"),
                 ("gateway_declined", "created", "declined")],
    "failed": [("authorize_sent", "created", "created"),
               ("gateway_error", "created", "failed")],
    "expired": [("authorize_sent", "created", "created"),
                ("otp_required", "created", "awaiting_otp"),
                ("otp_expired", "awaiting_otp", "expired")],
}


def make_payment(app: App, *, provider_id: int, account_number: str = "1000000001",
                 amount: int = 150_000, commission: int = 1_500,
                 status: PaymentStatus | str = PaymentStatus.SUCCEEDED,
                 customer_id: int | None = None, receipt_email: str | None = None,
                 provider_account_id: int | None = None, invoice_id: int | None = None,
                 masked_pan: str | None = "411111******1111", card_brand: str | None = "visa",
                 created_at: datetime | None = None, refunded_amount: int = 0,
                 rrn: str | None = None, decline_reason: str | None = None,
                 check_attempts: int = 0, next_check_at: datetime | None = None,
                 manual_review: bool = False, events: bool = True,
                 saved_card_id: int | None = None) -> int:
    """A payment row (and, unless ``events=False``, the events that led to its status)."""
    n = next(_seq)
    status = PaymentStatus(status).value
    at = created_at or app.now()
    if customer_id is None and receipt_email is None:
        receipt_email = f"payer{n}@example.ru"
    final = status not in ("created", "awaiting_otp", "pending")
    with app.uow() as uow:
        s = uow.session
        payment = Payment(
            idempotency_key=f"idem-{n}-{at.timestamp()}", request_fingerprint="f" * 64,
            customer_id=customer_id, receipt_email=receipt_email, provider_id=provider_id,
            provider_account_id=provider_account_id, account_number=account_number,
            invoice_id=invoice_id, amount=amount, commission=commission, status=status,
            saved_card_id=saved_card_id, card_brand=card_brand, masked_pan=masked_pan,
            gateway_txn_id=f"txn-{n}" if status != "created" else None,
            rrn=rrn or (f"{n:012d}" if status in ("succeeded", "partially_refunded",
                                                  "refunded") else None),
            auth_code="A1B2C3" if status in ("succeeded", "partially_refunded",
                                             "refunded") else None,
            decline_code="insufficient_funds" if status == "declined" else None,
            decline_reason=decline_reason or ("Недостаточно средств" if status == "declined"
                                              else None),
            refunded_amount=refunded_amount, created_at=at, updated_at=at,
            finalized_at=at if final else None, next_check_at=next_check_at,
            check_attempts=check_attempts, manual_review=manual_review, version=1)
        s.add(payment)
        s.flush()
        if events:
            path = _PATHS.get(status, _PATHS["succeeded"])
            for i, (event, before, after) in enumerate(path):
                s.add(PaymentEventRecord(payment_id=payment.id, at=at + timedelta(seconds=i),
                                         event=event, from_status=before, to_status=after,
                                         actor_kind=ActorKind.CUSTOMER if customer_id
                                         else ActorKind.SYSTEM, staff_id=None,
                                         details={"step": i + 1}))
        uow.commit()
        return payment.id


def add_event(app: App, payment_id: int, event: str, from_status: str | None, to_status: str,
              *, at: datetime | None = None, staff_id: int | None = None,
              details: dict[str, Any] | None = None) -> int:
    with app.uow() as uow:
        row = PaymentEventRecord(payment_id=payment_id, at=at or app.now(), event=event,
                                 from_status=from_status, to_status=to_status,
                                 actor_kind=ActorKind.STAFF if staff_id else ActorKind.SYSTEM,
                                 staff_id=staff_id, details=details)
        uow.session.add(row)
        uow.commit()
        return row.id


def make_refund(app: App, payment_id: int, amount: int, *, staff_id: int,
                reason: str = "Ошибочный платёж", status: str = "succeeded",
                approved_by: int | None = None, apply: bool = True) -> int:
    """A refund row; with ``apply`` a succeeded refund also raises the payment's refunded
    amount and moves its status, as the refund service would."""
    n = next(_seq)
    with app.uow() as uow:
        s = uow.session
        refund = Refund(payment_id=payment_id, idempotency_key=f"refund-{n}", amount=amount,
                        reason=reason, status=status, requested_by_staff_id=staff_id,
                        approved_by_staff_id=approved_by, created_at=app.now(),
                        completed_at=app.now() if status == "succeeded" else None)
        s.add(refund)
        if apply and status == "succeeded":
            payment = s.get(Payment, payment_id)
            assert payment is not None
            before = payment.status
            payment.refunded_amount += amount
            full = payment.refunded_amount >= payment.amount
            payment.status = "refunded" if full else "partially_refunded"
            last = s.scalar(select(func.max(PaymentEventRecord.at))
                            .where(PaymentEventRecord.payment_id == payment_id))
            at = app.now() if last is None or as_utc(last) < app.now() \
                else as_utc(last) + timedelta(seconds=1)
            s.add(PaymentEventRecord(payment_id=payment_id, at=at,
                                     event="refund_full" if full else "refund_partial",
                                     from_status=before, to_status=payment.status,
                                     actor_kind=ActorKind.STAFF, staff_id=staff_id,
                                     details={"amount": amount}))
        s.flush()
        uow.commit()
        return refund.id


def make_card(app: App, customer_id: int, *, last4: str = "1111", first6: str = "411111",
              brand: str = "visa", is_default: bool = False, removed: bool = False,
              created_at: datetime | None = None, exp_month: int = 12,
              exp_year: int = 2030) -> int:
    n = next(_seq)
    with app.uow() as uow:
        card = SavedCard(customer_id=customer_id, gateway_token=f"tok_test_{n}", brand=brand,
                         masked_pan=f"{first6}******{last4}", exp_month=exp_month,
                         exp_year=exp_year, is_default=is_default,
                         created_at=created_at or app.now(),
                         removed_at=app.now() if removed else None)
        uow.session.add(card)
        uow.commit()
        return card.id
