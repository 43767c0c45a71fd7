"""Shared pieces of the customer lifecycle used by customer and staff services:
status derivation, activation codes, blocking and ending sessions."""
from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from core.actors import ActorKind
from core.app import App
from core.db.models import ActivationCode, CabinetBlock, Customer, CustomerSession
from core.notifications.channels import Channel
from core.security import codes
from core.customers import activation_limits
from core.customers.rules import CabinetStatus
from core.customers.errors import AlreadyActivated, CabinetBlocked
from core.errors import NotFound
from core.security.errors import ActivationLocked, ResendTooSoon, SendLimitReached
from core.timefmt import format_until
from core.notifications import outbox

ACTIVATION_PURPOSE = "activation"


def open_block_exists(customer_id_column=Customer.id):  # type: ignore[no-untyped-def]
    """SQL: the cabinet has a block that is not lifted."""
    return exists().where(CabinetBlock.customer_id == customer_id_column,
                          CabinetBlock.lifted_at.is_(None))


def block_author(kind: ActorKind, staff_name: str | None) -> str:
    """Who blocked a cabinet, as the back office names them."""
    if staff_name:
        return staff_name
    return "клиент" if kind is ActorKind.CUSTOMER else "система"


def open_block(session: Session, customer_id: int) -> CabinetBlock | None:
    return session.scalar(select(CabinetBlock).where(CabinetBlock.customer_id == customer_id,
                                                     CabinetBlock.lifted_at.is_(None))
                          .order_by(CabinetBlock.blocked_at.desc()).limit(1))


def status_of(session: Session, customer: Customer) -> CabinetStatus:
    if open_block(session, customer.id) is not None:
        return CabinetStatus.BLOCKED
    if customer.activated_at is None:
        return CabinetStatus.PENDING_ACTIVATION
    return CabinetStatus.ACTIVE


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("Клиент не найден")
    return customer


def end_sessions(session: Session, customer_id: int, now: datetime, reason: str) -> int:
    result = session.execute(
        update(CustomerSession)
        .where(CustomerSession.customer_id == customer_id, CustomerSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason))
    return int(result.rowcount or 0)


def issue_activation_code(app: App, session: Session, customer: Customer, now: datetime) -> None:
    """Void any earlier code, make a new one and queue the SMS that carries it."""
    if open_block(session, customer.id) is not None:
        raise CabinetBlocked()
    # A cabinet that may not enter a code now gets no SMS either.
    wrong = activation_limits.wrong_codes(session, customer.id, now,
                                          app.settings.activation_wrong_codes_per_day)
    if wrong.until is not None:
        raise ActivationLocked(format_until(wrong.until))
    last = session.scalar(select(ActivationCode).where(ActivationCode.customer_id == customer.id)
                          .order_by(ActivationCode.created_at.desc()).limit(1))
    if last is not None:
        wait = (last.created_at + codes.ACTIVATION_RESEND_AFTER - now).total_seconds()
        if wait > 0:
            raise ResendTooSoon(math.ceil(wait))
    sent = activation_limits.codes_sent(session, customer.phone, now,
                                        app.settings.activation_sms_per_day)
    if sent.until is not None:
        raise SendLimitReached(sent.used, format_until(sent.until))
    session.execute(update(ActivationCode)
                    .where(ActivationCode.customer_id == customer.id,
                           ActivationCode.used_at.is_(None), ActivationCode.voided_at.is_(None))
                    .values(voided_at=now))
    row = ActivationCode(customer_id=customer.id, code_hash="", created_at=now,
                         expires_at=now + codes.ACTIVATION_CODE_LIFETIME, attempts=0)
    session.add(row)
    session.flush()  # the row id is part of what the code is bound to
    code = codes.generate_code(codes.ACTIVATION_CODE_DIGITS)
    row.code_hash = codes.code_hash(app.secrets.hmac_key, ACTIVATION_PURPOSE, customer.id,
                                    row.id, code)
    text = "Код активации личного кабинета: {}. Никому не сообщайте этот код."
    outbox.enqueue(session, now=now, customer_id=customer.id, channel=Channel.SMS,
                   topic="activation", recipient=customer.phone, body=text.format(code),
                   redacted_body=text.format("****"))


def reissue_activation_code(app: App, session: Session, customer_id: int,
                            now: datetime) -> Customer:
    """«Отправить код повторно», asked by the customer or by an agent for them."""
    customer = get_customer(session, customer_id)
    if customer.activated_at is not None:
        raise AlreadyActivated()
    issue_activation_code(app, session, customer, now)
    return customer
