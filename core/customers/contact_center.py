"""Contact-center use cases: find a customer, identify the caller, block, unblock.

Every function takes the acting staff member, checks the role, and writes an
audit record in the same transaction as its change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.orm import Session, aliased

from core.actors import ActorKind, StaffActor, require_role
from core.app import App
from core.db.models import (AccountBinding, AuditEntry, CabinetBlock, CodeWordCheck, Customer,
                            CustomerNote, OutboxMessage, Payment, ProviderAccount)
from core.customers import phone_search
from core.customers.rules import CabinetStatus, clean_reason, format_phone, normalize_code_word
from core.customers.errors import AlreadyBlocked, CodeWordLocked, CodeWordNotVerified, NotBlocked
from core.errors import ValidationError
from core.text import refuse_control_characters
from core.paging import COUNT_CAP, Page, PageRequest, capped_count
from core.files import exports
from core.staff import audit, permissions
from core.customers.lifecycle import (block_author, end_sessions, get_customer, open_block,
                                      open_block_exists, reissue_activation_code, status_of)
from core.payments.read_models import PAYMENT_ID_MAX

CODE_WORD_MAX_FAILURES = 3
# Reruns of an open card are one viewing: a new audit row only after this gap.
CARD_VIEW_WINDOW = timedelta(minutes=10)
# A correct code word lets the same agent unblock within this window, once.
CODE_WORD_CHECK_VALID = timedelta(minutes=15)
SEARCH_MAX_LENGTH = 100

VIEWERS = permissions.PERSONAL_DATA_READERS
ACTORS = permissions.CABINET_ACTORS


@dataclass(frozen=True)
class CustomerRow:
    id: int
    full_name: str
    phone: str  # formatted +7 999 123-45-67
    email: str
    status: CabinetStatus
    registered_at: datetime


@dataclass(frozen=True)
class BlockInfo:
    reason: str
    blocked_at: datetime
    blocked_by: str  # «клиент» or the staff member's name
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None
    lift_method: str | None


@dataclass(frozen=True)
class NoteInfo:
    text: str
    author: str
    created_at: datetime


@dataclass(frozen=True)
class MessageInfo:
    created_at: datetime
    channel: str
    topic: str
    recipient: str
    body: str  # redacted: never a clear code
    status: str
    sent_at: datetime | None


@dataclass(frozen=True)
class CustomerCard:
    id: int
    full_name: str
    surname: str | None
    first_name: str | None
    patronymic: str | None
    phone: str
    email: str
    birth_date: date | None
    address: str | None
    status: CabinetStatus
    registered_at: datetime
    activated_at: datetime | None
    agreement_version: str
    agreement_accepted_at: datetime
    current_block: BlockInfo | None
    blocks: list[BlockInfo]
    code_word_failures: int
    code_word_locked: bool
    code_word_attempts_left: int
    can_unblock_by_code_word: bool  # this agent verified the code word recently
    notes: list[NoteInfo]
    messages: list[MessageInfo]


def full_name(c: Customer) -> str:
    return " ".join(p for p in (c.surname, c.first_name, c.patronymic) if p) or "—"


def search_customers(app: App, actor: StaffActor, query: str, page: PageRequest,
                     status: CabinetStatus | str | None = None) -> Page[CustomerRow]:
    """Phone in any common format or any run of 4+ of its digits, e-mail, name, or a part
    of them; a number is also looked up as a payment number («№ 123» too) and finds that
    payment's cabinet. ``status``: only the cabinets in that state (None: all)."""
    require_role(actor, VIEWERS, "поиск клиентов")
    text = _clean_query(query)
    wanted = status_condition(status)
    with app.uow(write=False) as uow:
        s = uow.session
        condition = and_(_search_condition(s, text), wanted)
        total, capped = capped_count(s, select(Customer.id).where(condition))
        blocked = open_block_exists().label("blocked")
        rows = s.execute(select(Customer, blocked).where(condition)
                         .order_by(Customer.registered_at.desc(), Customer.id.desc())
                         .limit(page.sql_limit).offset(page.sql_offset)).all()
    items = [CustomerRow(
        id=c.id, full_name=full_name(c), phone=format_phone(c.phone), email=c.email,
        status=_status(c, is_blocked), registered_at=c.registered_at)
        for c, is_blocked in rows]
    return Page(items=items, total=total, request=page, total_capped=capped)


SEARCH_EXPORT_COLUMNS = (
    exports.Column("ФИО", width=34), exports.Column("Телефон", width=18),
    exports.Column("E-mail", width=30), exports.Column("Статус", width=18),
    exports.Column("Дата регистрации", "datetime", 18),
    exports.Column("Дата активации", "datetime", 18))


def export_customer_search(app: App, actor: StaffActor, query: str,
                           status: CabinetStatus | str | None = None) -> bytes:
    """«Выгрузить в Excel»: every match of the search (not only the page), audited."""
    require_role(actor, VIEWERS, "выгрузка клиентов")
    text = _clean_query(query)
    wanted = status_condition(status)
    with app.uow(write=False) as uow:
        condition = and_(_search_condition(uow.session, text), wanted)
    statement = (select(Customer, open_block_exists().label("blocked"))
                 .where(condition)
                 .order_by(Customer.registered_at.desc(), Customer.id.desc()))
    return audit.journaled_export(
        app, actor, statement, SEARCH_EXPORT_COLUMNS,
        lambda row: (full_name(row[0]), format_phone(row[0].phone), row[0].email,
                     _status(row[0], row[1]).label, row[0].registered_at, row[0].activated_at),
        sheet="Клиенты", action="customer.export",
        details={"query": text} | ({"status": _status_value(status)} if status else {}))


def _status_value(status: CabinetStatus | str) -> str:
    return status.value if isinstance(status, CabinetStatus) else CabinetStatus(status).value


def status_condition(status: CabinetStatus | str | None):  # type: ignore[no-untyped-def]
    """SQL for «Статус» of the search; a value that is no status is refused."""
    if status is None or status == "":
        return true()
    try:
        wanted = CabinetStatus(status)
    except ValueError:
        labels = ", ".join(f"«{s.label}»" for s in CabinetStatus)
        raise ValidationError("Статус", f"выберите один из: {labels} или «Все»",
                              field="status") from None
    blocked = open_block_exists()
    if wanted is CabinetStatus.BLOCKED:
        return blocked
    if wanted is CabinetStatus.PENDING_ACTIVATION:
        return and_(Customer.activated_at.is_(None), ~blocked)
    return and_(Customer.activated_at.is_not(None), ~blocked)


def _status(c: Customer, is_blocked: bool) -> CabinetStatus:
    if is_blocked:
        return CabinetStatus.BLOCKED
    return CabinetStatus.ACTIVE if c.activated_at else CabinetStatus.PENDING_ACTIVATION


def _clean_query(query: str) -> str:
    text = " ".join(refuse_control_characters(query, "Поиск", "query").split())
    if len(text) > SEARCH_MAX_LENGTH:
        raise ValidationError("Поиск", f"не длиннее {SEARCH_MAX_LENGTH} символов", field="query")
    if len(text) < 2:
        raise ValidationError("Поиск", "введите хотя бы 2 символа", field="query")
    return text


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_condition(s: Session, text: str):  # type: ignore[no-untyped-def]
    """Bound parameters only: the query text never becomes SQL.

    A number may be a phone part, a personal account and a payment number at once:
    every kind of hit is offered. Those keys are looked up first, each with its own
    index, and the page then reads the few cabinets by primary key: written as one
    OR, SQLite walked every cabinet in registration order testing each (≈0.2 s at
    200,000 cabinets), where the lookups cost a few milliseconds. A whole account or
    payment number is still looked for in phones too (``phone_search``: seven digits
    or more are a few ranges of the phone index, not a scan): «8529693» may be both.
    Phone parts are read first too, so that no planner walks the cabinets by date
    testing each against a hundred ranges.
    """
    keys = _key_lookups(text)
    condition = _customer_condition(text)
    if not keys and not phone_search.looks_like_phone(text):
        return condition
    key_ids = {i for lookup in keys for i in s.scalars(lookup)}
    direct = list(s.scalars(select(Customer.id).where(condition).limit(COUNT_CAP + 1)))
    if len(direct) > COUNT_CAP:
        # A short fragment in a thousand phones: the newest first needs the scan anyway.
        return or_(condition, Customer.id.in_(key_ids))
    return Customer.id.in_(sorted(key_ids.union(direct)))


def _key_lookups(text: str) -> list[Any]:
    """The cabinets a personal account or a payment number in ``text`` points at."""
    lookups = []
    account = re.sub(r"[\s\-]", "", text)
    if len(account) >= 4 and re.fullmatch(r"[0-9A-Za-zА-Яа-я/]+", account):
        # The cabinets that have the account bound now (the register's number index).
        lookups.append(
            select(AccountBinding.customer_id)
            .join(ProviderAccount, ProviderAccount.id == AccountBinding.provider_account_id)
            .where(ProviderAccount.number == account, AccountBinding.removed_at.is_(None)))
    number = text.lstrip("№#").strip()
    if number.isascii() and number.isdigit() and 0 < int(number) <= PAYMENT_ID_MAX:
        # One primary-key lookup (payments without a cabinet find nobody).
        lookups.append(select(Payment.customer_id).where(Payment.id == int(number),
                                                         Payment.customer_id.is_not(None)))
    return lookups


def _customer_condition(text: str):  # type: ignore[no-untyped-def]
    if phone_search.looks_like_phone(text):
        return phone_search.phone_condition(text)
    lowered = text.lower()
    if "@" in text:
        # A range, not LIKE 'x%': it walks the unique index on every database
        # (SQLite's case-insensitive LIKE cannot use a binary index).
        return and_(Customer.email >= lowered, Customer.email < lowered + "\uffff")
    words = lowered.replace("ё", "е").split()
    name_match = and_(*[Customer.search_name.like("%" + _like_escape(w) + "%", escape="\\")
                        for w in words])
    return or_(name_match, Customer.email.like("%" + _like_escape(lowered) + "%", escape="\\"))


def open_customer_card(app: App, actor: StaffActor, customer_id: int) -> CustomerCard:
    """Opening a card is itself audited: who looked at whose personal data."""
    require_role(actor, VIEWERS, "карточка клиента")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = get_customer(s, customer_id)
        card = _card(s, customer, actor, now)
        seen_recently = s.scalar(select(AuditEntry.id).where(
            AuditEntry.staff_id == actor.staff_id, AuditEntry.customer_id == customer.id,
            AuditEntry.action == "customer.card_view",
            AuditEntry.at > now - CARD_VIEW_WINDOW).limit(1))
        if seen_recently is None:
            audit.record(s, at=now, action="customer.card_view", actor=actor,
                         customer_id=customer.id)
            uow.commit()
        return card


def _block_info(b: CabinetBlock) -> BlockInfo:
    by = block_author(b.blocked_by_kind, b.blocked_by.name if b.blocked_by else None)
    return BlockInfo(reason=b.reason, blocked_at=b.blocked_at, blocked_by=by,
                     lifted_at=b.lifted_at, lifted_by=b.lifted_by.name if b.lifted_by else None,
                     lift_reason=b.lift_reason, lift_method=b.lift_method)


def _card(s: Session, c: Customer, actor: StaffActor, now: datetime) -> CustomerCard:
    blocks = [_block_info(b) for b in reversed(c.blocks)]
    current = next((b for b in blocks if b.lifted_at is None), None)
    notes = s.scalars(select(CustomerNote).where(CustomerNote.customer_id == c.id)
                      .order_by(CustomerNote.created_at.desc()).limit(100)).all()
    messages = s.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == c.id)
                         .order_by(OutboxMessage.created_at.desc()).limit(50)).all()
    return CustomerCard(
        id=c.id, full_name=full_name(c), surname=c.surname, first_name=c.first_name,
        patronymic=c.patronymic, phone=format_phone(c.phone), email=c.email,
        birth_date=c.birth_date, address=c.address, status=status_of(s, c),
        registered_at=c.registered_at, activated_at=c.activated_at,
        agreement_version=c.agreement_version, agreement_accepted_at=c.agreement_accepted_at,
        current_block=current, blocks=blocks,
        code_word_failures=c.code_word_failures,
        code_word_locked=c.code_word_locked_at is not None,
        code_word_attempts_left=max(0, CODE_WORD_MAX_FAILURES - c.code_word_failures),
        can_unblock_by_code_word=_fresh_check(s, c.id, _open_block_id(s, c.id), actor,
                                              now) is not None,
        notes=[NoteInfo(n.text, n.staff.name, n.created_at) for n in notes],
        messages=[MessageInfo(m.created_at, m.channel.value, m.topic, m.recipient,
                              m.display_body, m.status.value, m.sent_at) for m in messages],
    )


@dataclass(frozen=True)
class CodeWordResult:
    correct: bool
    attempts_left: int
    locked: bool


def verify_code_word(app: App, actor: StaffActor, customer_id: int,
                     answer: str) -> CodeWordResult:
    """The agent types what the caller says; 3 wrong answers lock the checks."""
    require_role(actor, ACTORS, "проверка кодового слова")
    word = normalize_code_word(answer, label="Кодовое слово")
    with app.uow(write=False) as uow:
        customer = get_customer(uow.session, customer_id)
        if customer.code_word_locked_at is not None:
            raise CodeWordLocked()
        stored = customer.code_word_hash
    correct = app.customer_hasher.verify(stored, word)  # slow: outside the write lock
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = get_customer(s, customer_id)
        if customer.code_word_locked_at is not None:  # locked meanwhile by another agent
            raise CodeWordLocked()
        before = {"failures": customer.code_word_failures}
        customer.code_word_failures = 0 if correct else customer.code_word_failures + 1
        locked = customer.code_word_failures >= CODE_WORD_MAX_FAILURES
        if locked:
            customer.code_word_locked_at = now
        s.add(CodeWordCheck(customer_id=customer.id, staff_id=actor.staff_id, checked_at=now,
                            success=correct, cabinet_block_id=_open_block_id(s, customer.id)))
        audit.record(s, at=now, action="customer.code_word_check", actor=actor,
                     customer_id=customer.id, before=before,
                     after={"failures": customer.code_word_failures, "locked": locked},
                     result="ok" if correct else "refused")
        uow.commit()
        return CodeWordResult(correct=correct,
                              attempts_left=max(0, CODE_WORD_MAX_FAILURES
                                                - customer.code_word_failures),
                              locked=locked)


def _open_block_id(s: Session, customer_id: int) -> int | None:
    block = open_block(s, customer_id)
    return None if block is None else block.id


def _fresh_check(s: Session, customer_id: int, block_id: int | None, actor: StaffActor,
                 now: datetime) -> CodeWordCheck | None:
    """This agent's unused right answer for this very block, recent, and not followed by a
    wrong one: a caller who failed after the right answer may not be its owner, and a check
    made before the block proves nothing about the person who calls about it."""
    if block_id is None:
        return None
    failed_later = aliased(CodeWordCheck)
    return s.scalar(select(CodeWordCheck).where(
        CodeWordCheck.customer_id == customer_id, CodeWordCheck.staff_id == actor.staff_id,
        CodeWordCheck.cabinet_block_id == block_id,
        CodeWordCheck.success.is_(True), CodeWordCheck.used_at.is_(None),
        CodeWordCheck.checked_at > now - CODE_WORD_CHECK_VALID,
        ~exists().where(failed_later.customer_id == customer_id,
                        failed_later.success.is_(False), failed_later.id > CodeWordCheck.id),
    ).order_by(CodeWordCheck.checked_at.desc(), CodeWordCheck.id.desc()).limit(1))


def _blocked_customer(s: Session, customer_id: int) -> tuple[Customer, CabinetBlock]:
    """The customer and its open block; an unblocked cabinet is refused («не заблокирован»)."""
    customer = get_customer(s, customer_id)
    block = open_block(s, customer.id)
    if block is None:
        raise NotBlocked()
    return customer, block


def unblock(app: App, actor: StaffActor, customer_id: int, comment: str | None = None) -> None:
    """Unblock after this agent verified the caller's code word (the check is used up)."""
    require_role(actor, ACTORS, "разблокировка")
    now = app.now()
    typed = refuse_control_characters(comment, "Комментарий", "comment")
    note = " ".join(typed.split())[:500] or None
    with app.uow() as uow:
        s = uow.session
        customer, block = _blocked_customer(s, customer_id)
        check = _fresh_check(s, customer.id, block.id, actor, now)
        if check is None:
            raise CodeWordNotVerified()
        check.used_at = now
        _lift(s, customer.id, actor, now, note or "Кодовое слово подтверждено", "code_word")
        audit.record(s, at=now, action="customer.unblock", actor=actor, customer_id=customer.id,
                     reason=note, before={"status": "blocked", "block_reason": block.reason},
                     after={"status": status_of(s, customer).value})
        uow.commit()


def admin_unblock(app: App, actor: StaffActor, customer_id: int, reason: str) -> None:
    """An administrator's override without the code word; a written reason is required."""
    require_role(actor, permissions.ADMINS, "разблокировка без кодового слова")
    why = clean_reason(reason, "Причина разблокировки")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer, block = _blocked_customer(s, customer_id)
        _lift(s, customer.id, actor, now, why, "admin_override")
        audit.record(s, at=now, action="customer.unblock_override", actor=actor,
                     customer_id=customer.id, reason=why,
                     before={"status": "blocked", "block_reason": block.reason},
                     after={"status": status_of(s, customer).value})
        uow.commit()


def _lift(s: Session, customer_id: int, actor: StaffActor, now: datetime, reason: str,
          method: str) -> None:
    for block in s.scalars(select(CabinetBlock).where(CabinetBlock.customer_id == customer_id,
                                                      CabinetBlock.lifted_at.is_(None))):
        block.lifted_at, block.lifted_by_staff_id = now, actor.staff_id
        block.lift_reason, block.lift_method = reason, method
    s.flush()


def block(app: App, actor: StaffActor, customer_id: int, reason: str) -> None:
    require_role(actor, ACTORS, "блокировка")
    why = clean_reason(reason, "Причина блокировки")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = get_customer(s, customer_id)
        if open_block(s, customer.id) is not None:
            raise AlreadyBlocked()
        before = status_of(s, customer).value
        s.add(CabinetBlock(customer_id=customer.id, reason=why, blocked_by_kind=ActorKind.STAFF,
                           blocked_by_staff_id=actor.staff_id, blocked_at=now))
        ended = end_sessions(s, customer.id, now, "blocked")
        audit.record(s, at=now, action="customer.block", actor=actor, customer_id=customer.id,
                     reason=why, before={"status": before},
                     after={"status": "blocked", "sessions_ended": ended})
        uow.commit()


def resend_activation_code(app: App, actor: StaffActor, customer_id: int) -> None:
    require_role(actor, ACTORS, "повторная отправка кода активации")
    now = app.now()
    with app.uow() as uow:
        customer = reissue_activation_code(app, uow.session, customer_id, now)
        audit.record(uow.session, at=now, action="customer.activation_resend", actor=actor,
                     customer_id=customer.id)
        uow.commit()


def clear_code_word_lock(app: App, actor: StaffActor, customer_id: int, reason: str) -> None:
    require_role(actor, permissions.ADMINS, "снятие блокировки проверок кодового слова")
    why = clean_reason(reason)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = get_customer(s, customer_id)
        if customer.code_word_locked_at is None:
            raise ValidationError("Кодовое слово", "проверки не заблокированы")
        before = {"failures": customer.code_word_failures, "locked": True}
        customer.code_word_failures, customer.code_word_locked_at = 0, None
        audit.record(s, at=now, action="customer.code_word_unlock", actor=actor,
                     customer_id=customer.id, reason=why, before=before,
                     after={"failures": 0, "locked": False})
        uow.commit()


def add_note(app: App, actor: StaffActor, customer_id: int, text: str) -> None:
    require_role(actor, VIEWERS, "заметки о клиенте")
    # A note keeps its lines: tab and line breaks pass, the rest of the controls do not.
    body = refuse_control_characters(text, "Заметка", "note").strip()
    if not body:
        raise ValidationError("Заметка", "обязательное поле", field="note")
    if len(body) > 2000:
        raise ValidationError("Заметка", "не длиннее 2000 символов", field="note")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = get_customer(s, customer_id)
        s.add(CustomerNote(customer_id=customer.id, staff_id=actor.staff_id, text=body,
                           created_at=now))
        audit.record(s, at=now, action="customer.note_add", actor=actor,
                     customer_id=customer.id, after={"length": len(body)})
        uow.commit()


def customer_history(app: App, actor: StaffActor, customer_id: int,
                     page: PageRequest) -> Page[audit.AuditRow]:
    """«История действий» of one customer: everything done to the cabinet, by anyone."""
    require_role(actor, VIEWERS, "история действий клиента")
    return audit.query_entries(app, audit.AuditFilter(customer_id=customer_id), page)
