"""The notifications outbox: services queue messages, a sender drains them.

Queuing happens inside the business transaction (the message exists if and
only if the action committed); sending happens later, outside it.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (Boolean, and_, bindparam, case, exists, func, insert, literal, or_,
                        select, update)
from sqlalchemy.orm import Session, aliased

from core.actors import StaffActor, require_role
from core.notifications.senders import OutgoingMessage, SendFailed
from core.app import App
from core.db import leases
from core.db.models import (AccountBinding, CabinetBlock, Customer, Invoice, OutboxMessage,
                            Provider, ProviderAccount, Subscription)
from core.notifications.channels import Channel, MessageStatus
from core.customers.rules import format_phone, normalize_phone
from core.notifications.template_rules import (DEFAULT_SUBSCRIPTIONS, TOPICS, format_period,
                                               render as render_template)
from core.errors import DomainError, NotFound, ValidationError
from core.money import Money
from core.paging import Page, PageRequest, capped_count, moscow_date_conditions
from core.staff import audit, permissions
from core.notifications import templates
from core.timefmt import format_date

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
    skipped: int = 0  # claimed, then taken by another worker (its lease ran out meanwhile)


# A claimed message is not due again for this long: if the process dies between
# sending and settling, the message is sent again after the lease (at least once).
SEND_LEASE = timedelta(minutes=2)
# Messages claimed per transaction: a claim is one short transaction for the batch, and
# small batches spread a queue over several workers instead of one taking it all.
CLAIM_BATCH = 50


def send_pending(app: App, *, limit: int = 500) -> SendReport:
    """Send what is due, up to ``limit``: claimed by batches (SKIP LOCKED on PostgreSQL,
    so several workers share the queue without sending a message twice), each message
    sent outside any transaction and settled on its own."""
    outcomes: Counter[str] = Counter()
    taken = 0
    while taken < limit:
        batch = _claim_batch(app, min(CLAIM_BATCH, limit - taken))
        if not batch:
            break
        taken += len(batch)
        for held, claimed in batch:
            outcomes[claimed if isinstance(claimed, str) else _send_claimed(app, held, claimed)] += 1
    return SendReport(sent=outcomes["sent"], failed=outcomes["failed"],
                      retrying=outcomes["retry"], skipped=outcomes["skipped"])


def _send_claimed(app: App, held: leases.Claim, claimed: OutgoingMessage) -> str:
    """Send outside any transaction, settle in another: a slow SMTP server never holds
    the database's write lock. A lease half spent (a slow batch) is renewed first."""
    if leases.still_held(app.uow, OutboxMessage.next_attempt_at, held, app.now()) is None:
        return "skipped"  # our lease ran out and another worker has the message now
    sender = app.senders[Channel(claimed.channel)]
    try:
        sender.send(claimed)
    except SendFailed as error:
        return _settle_failure(app, claimed.message_id, str(error)[:500])
    return _settle_success(app, claimed.message_id)


def _claim(app: App, message_id: int) -> OutgoingMessage | str:
    """Claim one message (what a batch does for each of its messages)."""
    batch = _claim_batch(app, 1, only=message_id)
    return batch[0][1] if batch else "skipped"  # another worker took it, or its lease runs


def _claim_batch(app: App, size: int, *, only: int | None = None
                 ) -> list[tuple[leases.Claim, OutgoingMessage | str]]:
    """Up to ``size`` due messages, oldest first, in one transaction: each counts an
    attempt and is not due for anybody else for ``SEND_LEASE``. A message to a blocked
    cabinet is given up on here ("failed") and never sent."""
    with app.uow() as uow:
        s = uow.session
        now = app.now()
        query = (select(OutboxMessage.id, OutboxMessage.next_attempt_at)
                 .where(OutboxMessage.status == MessageStatus.QUEUED,
                        OutboxMessage.next_attempt_at <= now)
                 .order_by(OutboxMessage.id).limit(size))
        if only is not None:
            query = query.where(OutboxMessage.id == only)
        claims = leases.claim(s, query, OutboxMessage.next_attempt_at, now=now,
                              lease=SEND_LEASE, attempts=OutboxMessage.attempts + 1)
        if not claims:
            return []
        by_id = {m.id: m for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.id.in_([c.id for c in claims])))}
        blocked = _blocked_customers(s, {m.customer_id for m in by_id.values()
                                         if m.customer_id is not None})
        batch: list[tuple[leases.Claim, OutgoingMessage | str]] = []
        for held in claims:
            message = by_id[held.id]
            if message.customer_id in blocked:
                # A blocked cabinet receives nothing, including what was queued before the
                # block: no attempt is counted, the message is given up on.
                message.attempts -= 1
                message.next_attempt_at = held.due_at or now
                message.status = MessageStatus.FAILED
                message.last_error = "Кабинет заблокирован: сообщение не отправлено"
                _forget_secret(message)
                batch.append((held, "failed"))
                continue
            batch.append((held, OutgoingMessage(message.id, message.channel.value,
                                                message.recipient, message.subject,
                                                message.body, message.created_at)))
        uow.commit()
        return batch


def _settle_failure(app: App, message_id: int, error: str) -> str:
    with app.uow() as uow:
        message = uow.session.get(OutboxMessage, message_id)
        assert message is not None
        message.last_error = error
        if message.attempts >= MAX_SEND_ATTEMPTS:
            message.status = MessageStatus.FAILED
            _forget_secret(message)  # never retried (retry_message refuses it): nobody needs it
            outcome = "failed"
        else:
            message.next_attempt_at = app.now() + RETRY_BACKOFF[min(message.attempts,
                                                                    len(RETRY_BACKOFF)) - 1]
            outcome = "retry"
        log.warning("message %s not sent (attempt %s): %s", message.id, message.attempts, error)
        uow.commit()
        return outcome


# One statement, no read first: a settle per message is most of what sending costs.
# The clear code is on the phone only now: the body becomes the redacted text, if any.
_SENT = (update(OutboxMessage).where(OutboxMessage.id == bindparam("message_id"))
         .values(status=MessageStatus.SENT, sent_at=bindparam("now"), last_error=None,
                 body=func.coalesce(OutboxMessage.redacted_body, OutboxMessage.body))
         .execution_options(synchronize_session=False))


def _settle_success(app: App, message_id: int) -> str:
    with app.uow() as uow:
        uow.session.execute(_SENT, {"message_id": message_id, "now": app.now()})
        log.info("message %s sent", message_id)
        uow.commit()
        return "sent"


def _forget_secret(message: OutboxMessage) -> None:
    """A message carrying a one-time code keeps it in clear only while it may still be
    sent: once sent or given up on, its body becomes the masked text."""
    if message.redacted_body is not None:
        message.body = message.redacted_body


def _blocked_customers(session: Session, customer_ids: set[int]) -> set[int]:
    if not customer_ids:
        return set()
    return set(session.scalars(select(CabinetBlock.customer_id).where(
        CabinetBlock.customer_id.in_(customer_ids), CabinetBlock.lifted_at.is_(None))))


def _cabinet_blocked(session: Session, customer_id: int) -> bool:
    return session.scalar(select(CabinetBlock.id).where(
        CabinetBlock.customer_id == customer_id, CabinetBlock.lifted_at.is_(None)).limit(1)) \
        is not None


# --- new invoices: queued per subscriptions, set-based ----------------------

NEW_INVOICE = "new_invoice"
# Invoice ids per query: far under every driver's bound-parameter limit.
QUEUE_CHUNK = 2000


def _subscribed(channel: Channel):  # type: ignore[no-untyped-def]
    """(alias, SQL value): the cabinet's choice for new invoices on ``channel``, or the default."""
    sub = aliased(Subscription)
    default = DEFAULT_SUBSCRIPTIONS[(NEW_INVOICE, channel.value)]
    enabled = func.coalesce(sub.enabled, literal(default, Boolean))
    return sub, enabled


def queue_new_invoice_messages(session: Session, invoice_ids: list[int], now: datetime) -> int:
    """Queue «Новый счёт» for every cabinet bound to each invoice's account; returns the count.

    Only activated, unblocked cabinets with an active binding get messages, one
    per channel they are subscribed to (explicit rows or the defaults). A few
    set-based queries per 2,000 invoices and one bulk insert each, so an import
    of tens of thousands of invoices stays fast. Call it inside the import's
    transaction with the ids of the invoices it created (each is announced once
    per call: do not pass invoices that were announced before).
    """
    ids = sorted(set(invoice_ids))
    if not ids:
        return 0
    in_use = {channel: templates.load_template(session, NEW_INVOICE, channel.value)
              for channel in (Channel.EMAIL, Channel.SMS)}
    email_sub, email_on = _subscribed(Channel.EMAIL)
    sms_sub, sms_on = _subscribed(Channel.SMS)
    blocked = exists().where(CabinetBlock.customer_id == Customer.id,
                             CabinetBlock.lifted_at.is_(None))
    query = (
        select(Invoice.period, Invoice.total_due, Invoice.due_date, ProviderAccount.number,
               Provider.name, AccountBinding.name, Customer.id, Customer.phone, Customer.email,
               email_on, sms_on)
        .join(ProviderAccount, ProviderAccount.id == Invoice.provider_account_id)
        .join(Provider, Provider.id == ProviderAccount.provider_id)
        .join(AccountBinding,
              and_(AccountBinding.provider_account_id == Invoice.provider_account_id,
                   AccountBinding.removed_at.is_(None)))
        .join(Customer, Customer.id == AccountBinding.customer_id)
        .outerjoin(email_sub, and_(email_sub.customer_id == Customer.id,
                                   email_sub.topic == NEW_INVOICE,
                                   email_sub.channel == Channel.EMAIL))
        .outerjoin(sms_sub, and_(sms_sub.customer_id == Customer.id, sms_sub.topic == NEW_INVOICE,
                                 sms_sub.channel == Channel.SMS))
        .where(Customer.activated_at.is_not(None), ~blocked, or_(email_on, sms_on))
        .order_by(Invoice.id, Customer.id))
    queued = 0
    for start in range(0, len(ids), QUEUE_CHUNK):
        batch: list[dict[str, object]] = []
        for (period, total, due, number, provider, name, customer_id, phone, email,
             wants_email, wants_sms) in session.execute(
                query.where(Invoice.id.in_(ids[start:start + QUEUE_CHUNK]))):
            values = {"provider": provider, "account": number, "account_name": name,
                      "period": format_period(period), "amount": Money(total).format(),
                      "due_date": format_date(due)}
            for channel, wanted, recipient in ((Channel.EMAIL, wants_email, email),
                                               (Channel.SMS, wants_sms, phone)):
                if not wanted:
                    continue
                subject, body = render_template(in_use[channel], values)
                batch.append(dict(customer_id=customer_id, channel=channel, topic=NEW_INVOICE,
                                  recipient=recipient, subject=subject, body=body,
                                  status=MessageStatus.QUEUED, attempts=0, created_at=now,
                                  next_attempt_at=now))
        if batch:
            # Core insert of the table: one executemany. (The ORM's bulk insert would
            # split the batch wherever a row's None columns differ: e-mail vs SMS.)
            session.execute(insert(OutboxMessage.__table__), batch)
            queued += len(batch)
    return queued


# --- the outbox for staff: list, counts, retry ------------------------------

OUTBOX_VIEWERS = permissions.PERSONAL_DATA_READERS
OUTBOX_ACTORS = permissions.CABINET_ACTORS
TOPIC_LABELS: dict[str, str] = {"activation": "Код активации",
                                 "payment_otp": "Код подтверждения платежа",
                                 "card_binding_otp": "Код привязки карты", **TOPICS}
STATUS_LABELS: dict[MessageStatus, str] = {
    MessageStatus.QUEUED: "В очереди", MessageStatus.SENT: "Отправлено",
    MessageStatus.FAILED: "Не доставлено"}


class OutboxError(DomainError):
    code = "outbox_error"


class RetryRefused(OutboxError):
    code = "outbox_retry_refused"

    def __init__(self, why: str) -> None:
        super().__init__(f"Повторная отправка: {why}")


@dataclass(frozen=True)
class OutboxFilter:
    status: MessageStatus | None = None
    channel: Channel | None = None
    topic: str | None = None  # "new_invoice", "activation", ...: see TOPIC_LABELS
    customer_phone: str | None = None  # as typed; any common format
    date_from: date | None = None  # Moscow dates of queuing, inclusive
    date_to: date | None = None
    customer_id: int | None = None  # the customer card's «Сообщения» tab


@dataclass(frozen=True)
class OutboxRow:
    id: int
    created_at: datetime
    customer_id: int | None
    customer_phone: str | None  # formatted +7 999 123-45-67
    channel: Channel
    topic: str
    topic_label: str
    recipient: str
    subject: str | None
    body: str  # display_body: never a clear one-time code
    status: MessageStatus
    status_label: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class OutboxCounts:
    queued: int  # waiting, including those that failed and will retry
    retrying: int  # of the queued: at least one failed attempt
    sent: int
    failed: int  # gave up (attempt limit or a blocked cabinet)

    @property
    def total(self) -> int:
        return self.queued + self.sent + self.failed


def _outbox_conditions(flt: OutboxFilter, *, with_status: bool = True) -> list[Any]:
    conditions: list[Any] = moscow_date_conditions(OutboxMessage.created_at, flt.date_from,
                                                   flt.date_to)
    if with_status and flt.status is not None:
        conditions.append(OutboxMessage.status == MessageStatus(flt.status))
    if flt.channel is not None:
        try:
            conditions.append(OutboxMessage.channel == Channel(flt.channel))
        except ValueError:
            raise ValidationError("Канал", "неизвестный канал", field="channel") from None
    if flt.topic:
        if len(flt.topic) > 30:
            raise ValidationError("Вид уведомления", "неизвестный вид", field="topic")
        conditions.append(OutboxMessage.topic == flt.topic)
    if flt.customer_phone:
        phone = normalize_phone(flt.customer_phone)
        conditions.append(or_(OutboxMessage.customer_id.in_(
            select(Customer.id).where(Customer.phone == phone)),
            OutboxMessage.recipient == phone))
    if flt.customer_id is not None:
        conditions.append(OutboxMessage.customer_id == flt.customer_id)
    return conditions


def list_outbox(app: App, actor: StaffActor, flt: OutboxFilter,
                page: PageRequest) -> Page[OutboxRow]:
    """«Исходящие сообщения», newest first; bodies as staff may see them."""
    require_role(actor, OUTBOX_VIEWERS, "исходящие сообщения")
    conditions = _outbox_conditions(flt)
    with app.uow(write=False) as uow:
        s = uow.session
        total, capped = capped_count(s, select(OutboxMessage.id).where(*conditions))
        rows = s.execute(select(OutboxMessage, Customer.phone)
                         .outerjoin(Customer, Customer.id == OutboxMessage.customer_id)
                         .where(*conditions).order_by(OutboxMessage.id.desc())
                         .limit(page.sql_limit).offset(page.sql_offset)).all()
    items = [OutboxRow(
        id=m.id, created_at=m.created_at, customer_id=m.customer_id,
        customer_phone=format_phone(phone) if phone else None, channel=m.channel,
        topic=m.topic, topic_label=TOPIC_LABELS.get(m.topic, m.topic), recipient=m.recipient,
        subject=m.subject, body=m.display_body, status=m.status,
        status_label=STATUS_LABELS[m.status], attempts=m.attempts, last_error=m.last_error,
        next_attempt_at=m.next_attempt_at, sent_at=m.sent_at) for m, phone in rows]
    return Page(items=items, total=total, request=page, total_capped=capped)


def outbox_counts(app: App, actor: StaffActor,
                  flt: OutboxFilter | None = None) -> OutboxCounts:
    """Messages per status (the filter's status is ignored): one GROUP BY."""
    require_role(actor, OUTBOX_VIEWERS, "исходящие сообщения")
    conditions = _outbox_conditions(flt or OutboxFilter(), with_status=False)
    with app.uow(write=False) as uow:
        rows = uow.session.execute(
            select(OutboxMessage.status, func.count(),
                   func.sum(case((OutboxMessage.attempts > 0, 1), else_=0)))
            .where(*conditions).group_by(OutboxMessage.status)).all()
    by_status = {status: (int(n), int(tried or 0)) for status, n, tried in rows}
    queued, retrying = by_status.get(MessageStatus.QUEUED, (0, 0))
    return OutboxCounts(queued=queued, retrying=retrying,
                        sent=by_status.get(MessageStatus.SENT, (0, 0))[0],
                        failed=by_status.get(MessageStatus.FAILED, (0, 0))[0])


def retry_message(app: App, actor: StaffActor, message_id: int) -> None:
    """Put a message that was given up on back in the queue, due now, attempts from zero."""
    require_role(actor, OUTBOX_ACTORS, "повторная отправка сообщений")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        message = s.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id)
                           .with_for_update())
        if message is None:
            raise NotFound("Сообщение не найдено")
        if message.status is MessageStatus.SENT:
            raise RetryRefused("сообщение уже отправлено")
        if message.status is MessageStatus.QUEUED:
            raise RetryRefused("сообщение уже в очереди")
        if message.redacted_body is not None:
            # Its body was replaced by the redacted text: the clear code is gone.
            raise RetryRefused("сообщение с одноразовым кодом не повторяется, "
                               "запросите новый код")
        if message.customer_id is not None and _cabinet_blocked(s, message.customer_id):
            raise RetryRefused("кабинет клиента заблокирован, сообщения ему не отправляются")
        before = {"status": message.status.value, "attempts": message.attempts,
                  "last_error": message.last_error}
        message.status, message.attempts, message.next_attempt_at = \
            MessageStatus.QUEUED, 0, now
        audit.record(s, at=now, action="outbox.retry", actor=actor,
                     customer_id=message.customer_id, before=before,
                     after={"status": MessageStatus.QUEUED.value, "attempts": 0,
                            "message_id": message.id})
        uow.commit()
