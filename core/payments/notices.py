"""Messages about payments: the one-time password, and the result with its receipt.

Both are queued in the outbox inside the payment's transaction, like every
message (see core.notifications.outbox): they exist if and only if the
payment's change committed.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.notifications.channels import Channel, MessageStatus
from core.db.models import Customer, OutboxMessage, Payment, Provider, Subscription
from core.customers.rules import format_phone
from core.notifications.template_rules import DEFAULT_SUBSCRIPTIONS, GUEST_PAYMENT_RESULT, render
from core.money import Money
from core.notifications import templates
from core.customers.lifecycle import open_block

OTP_TOPIC = "payment_otp"
RESULT_TOPIC = "payment_result"
_OTP_TEXT = ("Код подтверждения платежа № {payment_id} на {total}: {code}. "
             "Никому не сообщайте этот код.")


def otp_recipient(session: Session, payment: Payment) -> tuple[Channel, str] | None:
    """Where the payer's one-time password goes: the cabinet's phone by SMS, or the
    receipt e-mail of a payment made without a cabinet."""
    if payment.customer_id is not None:
        customer = session.get(Customer, payment.customer_id)
        if customer is not None:
            return Channel.SMS, customer.phone
    if payment.receipt_email:
        return Channel.EMAIL, payment.receipt_email
    return None


def queue_otp(session: Session, payment: Payment, code: str, now: datetime) -> str | None:
    """Queue the password; the outbox keeps the clear code only until it is sent.
    Returns where it went, for the screen («SMS на +7 9** ***-**-67»)."""
    target = otp_recipient(session, payment)
    if target is None:
        return None
    channel, recipient = target
    total = Money(payment.amount + payment.commission).format()
    values = {"payment_id": payment.id, "total": total}
    _enqueue(session, now=now, customer_id=payment.customer_id, channel=channel,
             topic=OTP_TOPIC, recipient=recipient,
             subject="Код подтверждения платежа" if channel is Channel.EMAIL else None,
             body=_OTP_TEXT.format(code=code, **values),
             redacted_body=_OTP_TEXT.format(code="******", **values))
    return _masked_target(channel, recipient)


# The row notifications.enqueue would add, as a plain INSERT: a payment's messages are
# never read back in the transaction that queues them, so the ORM need not track them.
_OUTBOX_INSERT = OutboxMessage.__table__.insert()


def _enqueue(session: Session, *, now: datetime, customer_id: int | None, channel: Channel,
             topic: str, recipient: str, body: str, subject: str | None = None,
             redacted_body: str | None = None) -> None:
    with session.no_autoflush:  # nothing pending is needed: no early UPDATE
        session.execute(_OUTBOX_INSERT, {
            "customer_id": customer_id, "channel": channel, "topic": topic,
            "recipient": recipient, "subject": subject, "body": body,
            "redacted_body": redacted_body, "status": MessageStatus.QUEUED, "attempts": 0,
            "last_error": None, "created_at": now, "next_attempt_at": now, "sent_at": None})


def _masked_target(channel: Channel, recipient: str) -> str:
    if channel is Channel.SMS:
        shown = format_phone(recipient)
        return f"SMS на номер …{shown[-5:]}"
    name, _, domain = recipient.partition("@")
    return f"письмо на {name[:2]}***@{domain}"


_RESULT_CHOICES = select(Subscription.channel, Subscription.enabled).where(
    Subscription.customer_id == bindparam("customer"), Subscription.topic == RESULT_TOPIC)


def _wanted(session: Session, customer_id: int) -> dict[Channel, bool]:
    """The cabinet's choice per channel for the result (the default where it made none)."""
    chosen = {Channel(channel): bool(enabled)
              for channel, enabled in session.execute(_RESULT_CHOICES, {"customer": customer_id})}
    return {channel: chosen.get(channel, DEFAULT_SUBSCRIPTIONS[(RESULT_TOPIC, channel.value)])
            for channel in Channel}


def result_recipients(session: Session, payment: Payment, *,
                      blocked: bool | None = None) -> list[tuple[Channel, str]]:
    """Who is told the result: the cabinet's subscribed channels (none while it is
    blocked), or the receipt e-mail of a payment without a cabinet. ``blocked``: the
    caller already knows whether the cabinet is blocked (None: it is looked up)."""
    if payment.customer_id is None:
        return [(Channel.EMAIL, payment.receipt_email)] if payment.receipt_email else []
    customer = session.get(Customer, payment.customer_id)
    if customer is None:
        return []
    if blocked is None:
        blocked = open_block(session, customer.id) is not None
    if blocked:
        return []
    targets = [(Channel.EMAIL, customer.email), (Channel.SMS, customer.phone)]
    wanted = _wanted(session, customer.id)
    return [(channel, address) for channel, address in targets
            if address and wanted[channel]]


def queue_result(session: Session, payment: Payment, now: datetime, *,
                 status_text: str, receipt_text: str | None = None,
                 blocked: bool | None = None) -> list[str]:
    """Queue «Результат платежа» per subscription; the e-mail carries the receipt (a payer
    without a cabinet gets the guest wording: no «личный кабинет» to send them to).
    Returns the addresses it went to (the receipt's «Чек отправлен»)."""
    provider = session.get(Provider, payment.provider_id)
    values = {"provider": provider.name if provider else "", "account": payment.account_number,
              "amount": Money(payment.amount).format(), "status": status_text,
              "payment_id": payment.id}
    sent: list[str] = []
    for channel, recipient in result_recipients(session, payment, blocked=blocked):
        if payment.customer_id is None:
            subject, body = render(GUEST_PAYMENT_RESULT, values)
        else:
            subject, body = templates.render(session, RESULT_TOPIC, channel.value, values)
        if channel is Channel.EMAIL and receipt_text:
            body = f"{body}\n\n{receipt_text}"
        _enqueue(session, now=now, customer_id=payment.customer_id, channel=channel,
                 topic=RESULT_TOPIC, recipient=recipient, subject=subject, body=body)
        sent.append(recipient)
    return sent
