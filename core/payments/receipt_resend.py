"""«Отправить квитанцию повторно»: a paid payment's receipt e-mailed again from the back office.

The customer lost the letter, or wants it at another address: the receipt goes through
the notifications outbox like the first one (queued in this transaction, sent by the
worker), to the e-mail the staff member typed or, by default, the payer's own. Only a
payment that has a receipt (money was taken and the check is registered) can have it
sent; the sending is journaled.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import StaffActor, require_role
from core.app import App
from core.customers.lifecycle import open_block
from core.customers.rules import normalize_email
from core.db.models import Customer, Payment, Receipt
from core.errors import DomainError, ValidationError
from core.notifications import outbox
from core.notifications.channels import Channel
from core.payments import notices, receipt_render, receipts, state
from core.payments.machine import CHARGED, status_label, values
from core.staff import audit, permissions

SENDERS = permissions.PERSONAL_DATA_READERS  # whoever may open the payment's card
ACTION = "payment.receipt_resend"


class ReceiptResendRefused(DomainError):
    code = "receipt_resend_refused"

    def __init__(self, why: str) -> None:
        super().__init__(f"Квитанцию отправить нельзя: {why}")


@dataclass(frozen=True)
class ResentReceipt:
    payment_id: int
    email: str
    message_id: int


def default_email(app: App, payment_id: int) -> str | None:
    """Where the receipt goes unless told otherwise: the cabinet's e-mail, or the receipt
    e-mail a payer without a cabinet gave."""
    with app.uow(write=False) as uow:
        payment = uow.session.get(Payment, int(payment_id))
        return _payer_email(uow.session, payment) if payment is not None else None


def _payer_email(session: Session, payment: Payment) -> str | None:
    if payment.customer_id is not None:
        email = session.scalar(select(Customer.email).where(Customer.id == payment.customer_id))
        if email:
            return email
    return payment.receipt_email


def resend_receipt(app: App, actor: StaffActor, payment_id: int,
                   email: str | None = None) -> ResentReceipt:
    """Queue the receipt of a paid payment to ``email`` (blank: the payer's own)."""
    require_role(actor, SENDERS, "повторная отправка квитанции")
    typed = (email or "").strip()
    address = normalize_email(typed) if typed else None
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        payment = s.get(Payment, int(payment_id))
        if payment is None:
            raise state.PaymentNotFound()
        if payment.status not in values(CHARGED):
            raise ReceiptResendRefused(
                f"у платежа № {payment.id} нет квитанции, он не оплачен (статус "
                f"«{status_label(payment.status)}»)")
        row = s.scalar(select(Receipt).where(Receipt.payment_id == payment.id))
        if row is None or row.fiscal_document_number is None:
            raise ReceiptResendRefused("чек ещё регистрируется в налоговой, "
                                       "попробуйте через минуту")
        if address is None:
            address = _payer_email(s, payment)
            if not address:
                raise ValidationError("E-mail", "у плательщика нет e-mail, введите адрес",
                                      field="email")
        if payment.customer_id is not None and open_block(s, payment.customer_id) is not None:
            raise ReceiptResendRefused("кабинет клиента заблокирован, сообщения ему "
                                       "не отправляются")
        data = receipts.receipt_data(s, payment)
        message = outbox.enqueue(
            s, now=now, customer_id=payment.customer_id, channel=Channel.EMAIL,
            topic=notices.RESULT_TOPIC, recipient=address,
            subject=f"Квитанция по платежу № {payment.id}",
            body=receipt_render.receipt_text(data))
        s.flush()
        audit.record(s, at=now, action=ACTION, actor=actor, customer_id=payment.customer_id,
                     after={"payment_id": payment.id, "email": address,
                            "message_id": message.id})
        uow.commit()
        return ResentReceipt(payment.id, address, message.id)
