"""Receipts: fiscalised by the register after a success, sent per subscription, and
downloadable as HTML or PDF by the payer and by staff.

The register is an outside system like the gateway: it is called outside any
transaction; when it is down the receipt waits (``next_attempt_at``) and the
worker tries again. The «payment result» message carries the receipt, so it is
queued once the receipt has its fiscal data.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.actors import StaffActor, require_role
from core.app import App
from core.db import leases
from core.db.models import Customer, Payment, Provider, Receipt
from core.errors import DomainError
from core.payments import fiscal, notices, receipt_render, state
from core.payments.machine import PaymentStatus, status_label
from core.customers.lifecycle import open_block_exists
from core.customers.sessions import signed_in_customer
from core.staff import permissions

log = logging.getLogger(__name__)

RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
               timedelta(hours=2))
VIEWERS = permissions.PERSONAL_DATA_READERS  # as the Платежи page
_NO_MONEY = {PaymentStatus.DECLINED, PaymentStatus.FAILED, PaymentStatus.EXPIRED}


class ReceiptNotReady(DomainError):
    code = "receipt_not_ready"

    def __init__(self, why: str) -> None:
        super().__init__(f"Квитанция недоступна: {why}")


def register(app: App) -> fiscal.FiscalRegister:
    assert app.fiscal is not None, "build_app wires a fiscal register"
    return app.fiscal


# --- fiscalisation ------------------------------------------------------------

@dataclass(frozen=True)
class FiscalReport:
    fiscalised: int
    waiting: int


def _contact(s: Session, payment: Payment) -> str:
    if payment.customer_id is not None:
        customer = s.get(Customer, payment.customer_id)
        if customer is not None:
            return customer.email or customer.phone
    return payment.receipt_email or "—"


def fiscal_request(s: Session, payment: Payment, row: Receipt) -> fiscal.FiscalRequest:
    """What the register is asked for the receipt (the payment's provider and customer
    are usually in the session already: the payment's own transaction loaded them)."""
    provider = s.get(Provider, payment.provider_id)
    assert provider is not None
    return fiscal.FiscalRequest(
        receipt_number=row.id, payment_id=payment.id, operation=fiscal.FiscalOperation.INCOME,
        amount_kopecks=payment.amount + payment.commission,
        commission_kopecks=payment.commission, provider_name=provider.name,
        provider_inn=provider.inn, customer_contact=_contact(s, payment),
        at=payment.finalized_at or row.created_at)


def fiscalise(app: App, receipt_id: int) -> bool:
    """Register one receipt; True when it has its fiscal data (now or before)."""
    with app.uow(write=False) as uow:
        s = uow.session
        row = s.get(Receipt, receipt_id)
        if row is None or row.fiscal_document_number is not None:
            return row is not None
        payment = s.get(Payment, row.payment_id)
        assert payment is not None
        request = fiscal_request(s, payment, row)
    return fiscalise_request(app, request)


# Built once: it runs after every successful payment.
_LOCK_WITH_PARTIES = (
    select(Receipt, Payment, Provider, Customer, open_block_exists(Customer.id))
    .join(Payment, Payment.id == Receipt.payment_id)
    .join(Provider, Provider.id == Payment.provider_id)
    .outerjoin(Customer, Customer.id == Payment.customer_id)
    .where(Receipt.id == bindparam("receipt_id")).with_for_update(of=Receipt)
    .execution_options(populate_existing=True))


def fiscalise_request(app: App, request: fiscal.FiscalRequest) -> bool:
    """Send the request to the register (outside any transaction), then record the
    fiscal data and queue the «payment result» message that carries the receipt."""
    receipt_id = request.receipt_number
    try:
        document = register(app).register(request)
    except fiscal.FiscalUnavailable:
        with app.uow() as uow:
            row = uow.session.get(Receipt, receipt_id)
            assert row is not None
            delay = RETRY_AFTER[min(row.fiscal_attempts, len(RETRY_AFTER) - 1)]
            row.fiscal_attempts += 1
            row.next_attempt_at = app.now() + delay
            uow.commit()
        log.warning("fiscal register unavailable for receipt %s; retry later", receipt_id)
        return False
    with app.uow() as uow:
        s = uow.session
        # The receipt locked, with its payment, provider and customer: one round trip.
        found = s.execute(_LOCK_WITH_PARTIES, {"receipt_id": receipt_id}).first()
        assert found is not None
        row, payment, blocked = found[0], found[1], bool(found[4])
        if row.fiscal_document_number is not None:
            return True  # a parallel run got there first (the register deduplicates)
        row.fiscal_drive_number = document.fiscal_drive_number
        row.fiscal_document_number = document.fiscal_document_number
        row.fiscal_sign = document.fiscal_sign
        row.kkt_registration_number = document.kkt_registration_number
        row.shift_number = document.shift_number
        row.fiscalised_at = document.registered_at
        row.next_attempt_at = None
        row.fiscal_attempts += 1
        # The message's queries need none of the receipt's new values: without an
        # autoflush the receipt is written by one UPDATE at the commit, not two.
        with s.no_autoflush:
            data = _data(s, payment, row, sent_to=_contact(s, payment))
            sent = notices.queue_result(s, payment, app.now(),
                                        status_text="успешно оплачен",
                                                receipt_text=receipt_render.receipt_text(data),
                                                blocked=blocked)
        row.sent_to = ", ".join(sent) or None
        uow.commit()
    return True


def fiscalise_for_payment(app: App, payment_id: int) -> None:
    """Right after a success: try at once; the worker retries if the register is down."""
    with app.uow(write=False) as uow:
        receipt_id = uow.session.scalar(select(Receipt.id).where(Receipt.payment_id == payment_id))
    if receipt_id is not None:
        fiscalise(app, receipt_id)


# A receipt being registered is not due for other workers this long (its next_attempt_at
# is moved ahead): two workers, each with a register of its own, would print two fiscal
# documents for it. A new receipt carries such a lease too (``state.succeed``): the
# payment's own process registers it right after the commit.
FISCAL_LEASE = timedelta(minutes=2)
CLAIM_BATCH = 50


def fiscalise_due(app: App, *, limit: int = 200) -> FiscalReport:
    """The worker's job: every receipt still without fiscal data whose time has come,
    claimed by batches (SKIP LOCKED on PostgreSQL: several workers share them)."""
    done = waiting = taken = 0
    while taken < limit:
        with app.uow() as uow:
            now = app.now()
            claims = leases.claim(uow.session, select(Receipt.id, Receipt.next_attempt_at).where(
                Receipt.fiscal_document_number.is_(None), Receipt.next_attempt_at <= now)
                .order_by(Receipt.id).limit(min(CLAIM_BATCH, limit - taken)),
                Receipt.next_attempt_at, now=now, lease=FISCAL_LEASE)
            uow.commit()
        if not claims:
            break
        taken += len(claims)
        for held in claims:
            if leases.still_held(app.uow, Receipt.next_attempt_at, held, app.now()) is None:
                continue  # our lease ran out and another worker has it now
            if fiscalise(app, held.id):
                done += 1
            else:
                waiting += 1
    return FiscalReport(fiscalised=done, waiting=waiting)


# --- documents ------------------------------------------------------------------

def _document(row: Receipt) -> fiscal.FiscalDocument | None:
    if row.fiscal_document_number is None:
        return None
    return fiscal.FiscalDocument(
        fiscal_drive_number=row.fiscal_drive_number or "",
        fiscal_document_number=row.fiscal_document_number, fiscal_sign=row.fiscal_sign or "",
        registered_at=row.fiscalised_at or row.created_at,
        kkt_registration_number=row.kkt_registration_number or "",
        shift_number=row.shift_number or 0)


def _data(s: Session, payment: Payment, row: Receipt | None, *,
          sent_to: str | None = None) -> receipt_render.ReceiptData:
    provider = s.get(Provider, payment.provider_id)
    assert provider is not None
    status = PaymentStatus(payment.status)
    document = _document(row) if row is not None else None
    return receipt_render.ReceiptData(
        provider_name=provider.name, provider_inn=provider.inn,
        provider_phone=provider.contact_phone, account_number=payment.account_number,
        amount_kopecks=payment.amount, commission_kopecks=payment.commission,
        at=payment.finalized_at or payment.created_at,
        receipt_number=row.id if row is not None else payment.id, payment_number=payment.id,
        status_label=status_label(status), sent_to=sent_to or (row.sent_to if row else None)
        or _contact(s, payment), fiscal=document, masked_pan=payment.masked_pan,
        card_brand=payment.card_brand, auth_code=payment.auth_code, rrn=payment.rrn,
        refunded_kopecks=payment.refunded_amount,
        decline_reason=None if document else (payment.decline_reason or "Платёж не выполнен"))


def receipt_data(s: Session, payment: Payment) -> receipt_render.ReceiptData:
    """The document of a payment with a final status: a fiscal receipt when money moved,
    «Справка об операции» when it did not."""
    status = PaymentStatus(payment.status)
    if status in _NO_MONEY:
        return _data(s, payment, None)
    if status not in {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED,
                      PaymentStatus.REFUNDED}:
        raise ReceiptNotReady("платёж ещё не принял окончательный статус")
    row = s.scalar(select(Receipt).where(Receipt.payment_id == payment.id))
    if row is None or row.fiscal_document_number is None:
        raise ReceiptNotReady("чек ещё регистрируется в налоговой, попробуйте через минуту")
    return _data(s, payment, row)


def _staff_data(app: App, actor: StaffActor, payment_id: int) -> receipt_render.ReceiptData:
    require_role(actor, VIEWERS, "Квитанции платежей")
    with app.uow(write=False) as uow:
        payment = uow.session.get(Payment, int(payment_id))
        if payment is None:
            raise state.PaymentNotFound()
        return receipt_data(uow.session, payment)


def receipt_html(app: App, actor: StaffActor, payment_id: int) -> str:
    return receipt_render.render_html(_staff_data(app, actor, payment_id))


def receipt_pdf(app: App, actor: StaffActor, payment_id: int) -> bytes:
    return receipt_render.render_pdf(_staff_data(app, actor, payment_id))


def customer_receipt_pdf(app: App, token: str, payment_id: int) -> bytes:
    """«Сохранить/распечатать детали платежа» in the cabinet's history."""
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, app.now())
        payment = s.get(Payment, int(payment_id))
        if payment is None or payment.customer_id != customer.id:
            raise state.PaymentNotFound()
        data = receipt_data(s, payment)
        uow.commit()
    return receipt_render.render_pdf(data)
