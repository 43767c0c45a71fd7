"""The notifications outbox: services queue messages, a sender drains them.

Queuing happens inside the business transaction (the message exists if and
only if the action committed); sending happens later, outside it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.adapters.senders import OutgoingMessage, SendFailed
from core.app import App
from core.db.models import CabinetBlock, Channel, MessageStatus, OutboxMessage

log = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5
RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
                 timedelta(hours=1))


def enqueue(session: Session, *, now: datetime, customer_id: int | None, channel: Channel,
            topic: str, recipient: str, body: str, subject: str | None = None,
            redacted_body: str | None = None) -> OutboxMessage:
    message = OutboxMessage(
        customer_id=customer_id, channel=channel, topic=topic, recipient=recipient,
        subject=subject, body=body, redacted_body=redacted_body, status=MessageStatus.QUEUED,
        attempts=0, created_at=now, next_attempt_at=now,
    )
    session.add(message)
    return message


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    retrying: int


def send_pending(app: App, *, limit: int = 500) -> SendReport:
    """Send what is due. Each message is claimed, sent and settled on its own."""
    sent = failed = retrying = 0
    with app.uow(write=False) as uow:
        due_ids = list(uow.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == MessageStatus.QUEUED,
                   OutboxMessage.next_attempt_at <= app.now())
            .order_by(OutboxMessage.id).limit(limit)))
    for message_id in due_ids:
        outcome = _send_one(app, message_id)
        sent += outcome == "sent"
        failed += outcome == "failed"
        retrying += outcome == "retry"
    return SendReport(sent=sent, failed=failed, retrying=retrying)


def _send_one(app: App, message_id: int) -> str:
    with app.uow() as uow:
        query = select(OutboxMessage).where(OutboxMessage.id == message_id,
                                            OutboxMessage.status == MessageStatus.QUEUED)
        if app.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        message = uow.session.scalar(query)
        if message is None:
            return "skipped"  # another worker took it
        now = app.now()
        if message.customer_id is not None and _cabinet_blocked(uow.session, message.customer_id):
            # A blocked cabinet receives nothing, including what was queued before the block.
            message.status = MessageStatus.FAILED
            message.last_error = "Кабинет заблокирован: сообщение не отправлено"
            if message.redacted_body is not None:
                message.body = message.redacted_body
            uow.commit()
            return "failed"
        message.attempts += 1
        sender = app.senders[message.channel]
        try:
            sender.send(OutgoingMessage(message.id, message.channel.value, message.recipient,
                                        message.subject, message.body))
        except SendFailed as error:
            message.last_error = str(error)[:500]
            if message.attempts >= MAX_SEND_ATTEMPTS:
                message.status = MessageStatus.FAILED
                outcome = "failed"
            else:
                message.next_attempt_at = now + RETRY_BACKOFF[min(message.attempts,
                                                                  len(RETRY_BACKOFF)) - 1]
                outcome = "retry"
            log.warning("message %s not sent (attempt %s): %s", message.id, message.attempts,
                        message.last_error)
        else:
            message.status = MessageStatus.SENT
            message.sent_at = now
            message.last_error = None
            if message.redacted_body is not None:
                message.body = message.redacted_body  # the clear code is on the phone only now
            outcome = "sent"
            log.info("message %s sent via %s", message.id, message.channel.value)
        uow.commit()
        return outcome


def _cabinet_blocked(session: Session, customer_id: int) -> bool:
    return session.scalar(select(CabinetBlock.id).where(
        CabinetBlock.customer_id == customer_id, CabinetBlock.lifted_at.is_(None)).limit(1)) \
        is not None
