"""Double-entry ledger: every money movement is a journal whose entries sum to zero.

Amounts are signed integer kopecks: debit positive, credit negative. Journals and
entries are append-only (database triggers refuse UPDATE and DELETE); a mistake is
corrected by :func:`reverse`, which posts a new journal with the entries negated.

Every function takes the caller's SQLAlchemy ``Session`` inside its unit of work
and never commits; the rows go out at once (plain INSERTs), so the new journal's id
is known.

Money flow::

    payment     clearing +(amount+commission) / provider_payable -amount / commission_income -commission
    refund      provider_payable +amount      / clearing -amount   (commission is kept)
    settlement  bank +amount                  / clearing -amount   (the acquirer pays us)
    payout      provider_payable +amount      / bank -amount       (we pay a provider)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.db.models import LedgerEntry, LedgerJournal, Payment, Refund
from core.errors import DomainError
from core.payments.machine import CHARGED, values

# Money the acquirer holds for us: customers' charges not yet settled to our bank (asset).
CLEARING = "clearing"
# What we owe a provider for its customers' payments; entries carry provider_id (liability).
PROVIDER_PAYABLE = "provider_payable"
# Our agent's fee kept from each payment (income).
COMMISSION_INCOME = "commission_income"
# Our settlement bank account: settlements from the acquirer land here, payouts leave it (asset).
BANK = "bank"
# A payout to a provider uses these two: the provider's payable goes down, the bank pays.
PAYOUT_ACCOUNTS = (PROVIDER_PAYABLE, BANK)
ACCOUNTS = frozenset({CLEARING, PROVIDER_PAYABLE, COMMISSION_INCOME, BANK})

# Journal kinds (LedgerJournal.kind).
KIND_PAYMENT = "payment"
KIND_REFUND = "refund"
KIND_SETTLEMENT = "settlement"
KIND_PAYOUT = "payout"
KIND_REVERSAL = "reversal"

# (account, provider_id, amount)
Line = tuple[str, "int | None", int]


@dataclass(frozen=True)
class LedgerBalances:
    """Balances derived from the entries, in kopecks.

    ``clearing`` and ``bank`` are assets, shown as stored (debit positive).
    ``commission_income`` and ``payable`` (provider id -> what we owe it) are credit
    balances shown as positive numbers (the stored sum negated).
    """

    clearing: int
    bank: int
    commission_income: int
    payable: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LedgerCheck:
    """The result of :func:`check`: ``problems`` empty means the ledger is healthy."""

    journals: int
    entries: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


# --- validation -------------------------------------------------------------

def _int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"{name}: сумма должна быть целым числом копеек")
    return value


def _positive(name: str, value: object) -> int:
    amount = _int(name, value)
    if amount <= 0:
        raise DomainError(f"{name}: сумма должна быть больше нуля")
    return amount


def _non_negative(name: str, value: object) -> int:
    amount = _int(name, value)
    if amount < 0:
        raise DomainError(f"{name}: сумма не может быть отрицательной")
    return amount


def _id(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DomainError(f"{name}: нужен идентификатор (целое положительное число)")
    return value


_JOURNAL_INSERT = LedgerJournal.__table__.insert()
_ENTRY_INSERT = LedgerEntry.__table__.insert()


def _write(session: Session, *, kind: str, at: datetime, lines: list[Line],
           payment_id: int | None = None, refund_id: int | None = None,
           reverses_journal_id: int | None = None, memo: str | None = None) -> int:
    """Write one journal and its entries; refuses anything that does not balance."""
    lines = [line for line in lines if line[2] != 0]  # a zero commission is no entry
    assert lines, "a journal needs entries"
    assert sum(amount for _, _, amount in lines) == 0, f"journal {kind} does not balance: {lines}"
    assert all(account in ACCOUNTS for account, _, _ in lines)
    # Append-only rows nobody reads back here: plain INSERTs (the entries in one
    # executemany), not ORM objects for the session to track and flush.
    with session.no_autoflush:  # the rows refer only to rows that have their ids
        journal_id = session.execute(_JOURNAL_INSERT, {
            "kind": kind, "at": at, "payment_id": payment_id, "refund_id": refund_id,
            "reverses_journal_id": reverses_journal_id,
            "memo": (memo or None) and memo[:300]}).inserted_primary_key[0]
        session.execute(_ENTRY_INSERT, [
            {"journal_id": journal_id, "account": account, "provider_id": provider_id,
             "amount": amount} for account, provider_id, amount in lines])
    return int(journal_id)


# --- posting ----------------------------------------------------------------

def payment_lines(provider_id: Any, amount: Any, commission: Any, *,
                  no_provider: Any = None) -> list[tuple[str, Any, Any]]:
    """The posting rule of a successful payment, as (account, provider, amount) lines that
    sum to zero: the acquirer holds amount+commission for us; we owe the provider ``amount``
    and earn ``commission``. Pure arithmetic, so the bulk loaders pass whole numpy columns
    (``no_provider``: their stand-in for «no provider»)."""
    return [(CLEARING, no_provider, amount + commission),
            (PROVIDER_PAYABLE, provider_id, -amount),
            (COMMISSION_INCOME, no_provider, -commission)]


def refund_lines(provider_id: Any, amount: Any, *,
                 no_provider: Any = None) -> list[tuple[str, Any, Any]]:
    """The posting rule of a refund: the provider's payable and the clearing account both go
    down by the refunded ``amount`` (the commission stays earned)."""
    return [(PROVIDER_PAYABLE, provider_id, amount),
            (CLEARING, no_provider, -amount)]


def post_payment(session: Session, *, payment_id: int, provider_id: int, amount: int,
                 commission: int, at: datetime) -> int:
    """A successful payment: the acquirer holds amount+commission for us; we owe the
    provider ``amount`` and earn ``commission``. Returns the journal id."""
    amount = _positive("Сумма платежа", amount)
    commission = _non_negative("Комиссия", commission)
    provider_id = _id("Поставщик", provider_id)
    return _write(session, kind=KIND_PAYMENT, at=at, payment_id=_id("Платёж", payment_id),
                  lines=payment_lines(provider_id, amount, commission))


def post_refund(session: Session, *, payment_id: int, refund_id: int, provider_id: int,
                amount: int, at: datetime) -> int:
    """A refund of (part of) a payment: the provider's payable and the clearing account
    both go down by the refunded ``amount``.

    The commission is not refunded: the agent's fee stays in ``commission_income``
    (a refund returns at most the amount paid to the provider)."""
    amount = _positive("Сумма возврата", amount)
    provider_id = _id("Поставщик", provider_id)
    return _write(session, kind=KIND_REFUND, at=at, payment_id=_id("Платёж", payment_id),
                  refund_id=_id("Возврат", refund_id), lines=refund_lines(provider_id, amount))


def post_settlement(session: Session, *, amount: int, at: datetime, memo: str | None) -> int:
    """The acquirer pays us what it held: bank up, clearing down."""
    amount = _positive("Сумма расчёта с эквайером", amount)
    return _write(session, kind=KIND_SETTLEMENT, at=at, memo=memo, lines=[
        (BANK, None, amount),
        (CLEARING, None, -amount),
    ])


def post_acquirer_debit(session: Session, *, amount: int, at: datetime,
                        memo: str | None) -> int:
    """A settlement day whose refunds exceed its charges: the acquirer takes the
    difference from our bank account back into clearing (a settlement with the signs
    turned round)."""
    amount = _positive("Сумма списания эквайером", amount)
    return _write(session, kind=KIND_SETTLEMENT, at=at, memo=memo, lines=[
        (BANK, None, -amount),
        (CLEARING, None, amount),
    ])


def post_payout(session: Session, *, provider_id: int, amount: int, at: datetime,
                memo: str | None) -> int:
    """We pay a provider from our bank account: its payable and the bank go down."""
    amount = _positive("Сумма перечисления поставщику", amount)
    provider_id = _id("Поставщик", provider_id)
    return _write(session, kind=KIND_PAYOUT, at=at, memo=memo, lines=[
        (PROVIDER_PAYABLE, provider_id, amount),
        (BANK, None, -amount),
    ])


def reverse(session: Session, journal_id: int, at: datetime, memo: str | None) -> int:
    """Cancel a journal by a new one with every entry negated (``reverses_journal_id`` set;
    the payment and refund ids are copied). A journal is reversed at most once, and a
    reversal itself is never reversed: post the movement anew instead."""
    original = session.get(LedgerJournal, _id("Журнал", journal_id))
    if original is None:
        raise DomainError(f"Журнал {journal_id} не найден")
    if original.reverses_journal_id is not None:
        raise DomainError(f"Журнал {journal_id} сам является сторно; сторнировать его нельзя")
    already = session.scalar(select(LedgerJournal.id)
                             .where(LedgerJournal.reverses_journal_id == journal_id).limit(1))
    if already is not None:
        raise DomainError(f"Журнал {journal_id} уже сторнирован (журнал {already})")
    rows = session.execute(select(LedgerEntry.account, LedgerEntry.provider_id, LedgerEntry.amount)
                           .where(LedgerEntry.journal_id == journal_id)
                           .order_by(LedgerEntry.id)).all()
    if not rows:
        raise DomainError(f"Журнал {journal_id} без проводок; сторнировать нечего")
    return _write(session, kind=KIND_REVERSAL, at=at, payment_id=original.payment_id,
                  refund_id=original.refund_id, reverses_journal_id=journal_id,
                  memo=memo or f"Сторно журнала {journal_id}",
                  lines=[(account, provider_id, -amount) for account, provider_id, amount in rows])


# --- reading ----------------------------------------------------------------

def balances(session: Session) -> LedgerBalances:
    """Every account's balance, summed in the database (GROUP BY), never in Python."""
    rows = session.execute(
        select(LedgerEntry.account, LedgerEntry.provider_id, func.sum(LedgerEntry.amount))
        .group_by(LedgerEntry.account, LedgerEntry.provider_id)).all()
    totals: dict[str, int] = {}
    payable: dict[int, int] = {}
    for account, provider_id, total in rows:
        if account == PROVIDER_PAYABLE and provider_id is not None:
            payable[provider_id] = -int(total)
        else:
            totals[account] = totals.get(account, 0) + int(total)
    return LedgerBalances(clearing=totals.get(CLEARING, 0), bank=totals.get(BANK, 0),
                          commission_income=-totals.get(COMMISSION_INCOME, 0),
                          payable=dict(sorted(payable.items())))


def _expected_clearing(session: Session) -> int:
    """Successful payments (amount+commission from the payments table) − refunds (from the
    refunds table) − settlements (the bank side of settlement journals), each counted
    through its journal; a reversal counts its original's kind with the opposite sign."""
    original = aliased(LedgerJournal)
    sign = case((LedgerJournal.reverses_journal_id.is_(None), 1), else_=-1)
    kind = func.coalesce(original.kind, LedgerJournal.kind)
    base = (select(LedgerJournal.id).select_from(LedgerJournal)
            .outerjoin(original, original.id == LedgerJournal.reverses_journal_id))
    paid = session.scalar(
        base.with_only_columns(func.coalesce(func.sum(sign * (Payment.amount + Payment.commission)), 0))
        .join(Payment, Payment.id == LedgerJournal.payment_id)
        .where(kind == KIND_PAYMENT, Payment.status.in_(values(CHARGED))))
    refunded = session.scalar(
        base.with_only_columns(func.coalesce(func.sum(sign * Refund.amount), 0))
        .join(Refund, Refund.id == LedgerJournal.refund_id)
        .where(kind == KIND_REFUND))
    settled = session.scalar(
        base.with_only_columns(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerEntry, LedgerEntry.journal_id == LedgerJournal.id)
        .where(kind == KIND_SETTLEMENT, LedgerEntry.account == BANK))
    return int(paid) - int(refunded) - int(settled)


def check(session: Session, *, limit: int = 20) -> LedgerCheck:
    """Prove the ledger's invariants in SQL; returns the problems as Russian sentences
    (at most ``limit`` examples per kind of problem)."""
    problems: list[str] = []
    journals = int(session.scalar(select(func.count()).select_from(LedgerJournal)) or 0)
    entries = int(session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)

    for journal_id, total in session.execute(
            select(LedgerEntry.journal_id, func.sum(LedgerEntry.amount))
            .group_by(LedgerEntry.journal_id).having(func.sum(LedgerEntry.amount) != 0)
            .order_by(LedgerEntry.journal_id).limit(limit)):
        problems.append(f"Журнал {journal_id} не сбалансирован: сумма проводок {total} коп. "
                        f"вместо нуля.")

    for (journal_id,) in session.execute(
            select(LedgerJournal.id).where(~select(LedgerEntry.id)
                                           .where(LedgerEntry.journal_id == LedgerJournal.id)
                                           .exists())
            .order_by(LedgerJournal.id).limit(limit)):
        problems.append(f"Журнал {journal_id} без проводок.")

    for entry_id, journal_id, account in session.execute(
            select(LedgerEntry.id, LedgerEntry.journal_id, LedgerEntry.account)
            .where(or_(LedgerEntry.account.not_in(sorted(ACCOUNTS)),
                       and_(LedgerEntry.account == PROVIDER_PAYABLE,
                            LedgerEntry.provider_id.is_(None))))
            .order_by(LedgerEntry.id).limit(limit)):
        problems.append(f"Проводка {entry_id} журнала {journal_id}: неизвестный счёт «{account}» "
                        f"или счёт поставщика без поставщика.")

    original = aliased(LedgerJournal)
    for journal_id, target in session.execute(
            select(LedgerJournal.id, LedgerJournal.reverses_journal_id)
            .outerjoin(original, original.id == LedgerJournal.reverses_journal_id)
            .where(LedgerJournal.reverses_journal_id.is_not(None), original.id.is_(None))
            .order_by(LedgerJournal.id).limit(limit)):
        problems.append(f"Сторно {journal_id} ссылается на несуществующий журнал {target}.")

    for target, times in session.execute(
            select(LedgerJournal.reverses_journal_id, func.count())
            .where(LedgerJournal.reverses_journal_id.is_not(None))
            .group_by(LedgerJournal.reverses_journal_id).having(func.count() > 1)
            .order_by(LedgerJournal.reverses_journal_id).limit(limit)):
        problems.append(f"Журнал {target} сторнирован {times} раза.")

    # A reversal and its original cancel out on every (account, provider).
    reversal = aliased(LedgerJournal)
    mirrored = (select(reversal.id.label("reversal_id"), LedgerEntry.account,
                       LedgerEntry.provider_id, func.sum(LedgerEntry.amount).label("total"))
                .join(original, original.id == reversal.reverses_journal_id)
                .join(LedgerEntry, or_(LedgerEntry.journal_id == reversal.id,
                                       LedgerEntry.journal_id == original.id))
                .group_by(reversal.id, LedgerEntry.account, LedgerEntry.provider_id)
                .having(func.sum(LedgerEntry.amount) != 0).subquery())
    for (journal_id,) in session.execute(select(mirrored.c.reversal_id).distinct()
                                         .order_by(mirrored.c.reversal_id).limit(limit)):
        target = session.scalar(select(LedgerJournal.reverses_journal_id)
                                .where(LedgerJournal.id == journal_id))
        problems.append(f"Сторно {journal_id} не зеркально журналу {target}: "
                        f"проводки не противоположны по знаку и сумме.")

    for journal_id, payment_id, status in session.execute(
            select(LedgerJournal.id, Payment.id, Payment.status)
            .join(Payment, Payment.id == LedgerJournal.payment_id)
            .where(LedgerJournal.kind == KIND_PAYMENT,
                   Payment.status.not_in(values(CHARGED)))
            .order_by(LedgerJournal.id).limit(limit)):
        problems.append(f"Журнал {journal_id} проводит платёж {payment_id} в статусе «{status}», "
                        f"а не успешный.")

    clearing = balances(session).clearing
    expected = _expected_clearing(session)
    if clearing != expected:
        problems.append(f"Остаток на клиринговом счёте {clearing} коп. не равен успешным платежам "
                        f"за вычетом возвратов и расчётов с эквайером: {expected} коп.")
    return LedgerCheck(journals=journals, entries=entries, problems=problems)
