"""Demo payments, saved cards, refunds and their ledger, consistent with the invoices.

Called by ``core.demo.rich.seed_demo`` for each batch of customers, after
``core.demo.billing`` has written their accounts and invoices, inside the same
transaction. Everything is computed in Python first and written with bulk inserts
(``bulk_insert``: one compiled Core ``insert()``, the driver's executemany in batches
of ``BATCH``; new ids are read back by a unique key), so 2,000 customers' year of
payments (~61,000 payments, ~180,000 events) takes a few seconds on SQLite.

What it writes, deterministically for an ``rng``:

* for every paid or partly paid invoice the succeeded payment(s) whose amounts sum
  to its ``paid_amount`` (some invoices in two parts), by the cabinet bound to the
  account — or, when it was paid before the cabinet was activated, without a
  cabinet (``customer_id`` NULL, the owner's e-mail as ``receipt_email``);
* declined, failed and expired attempts before some of them (and a few attempts on
  this month's unpaid invoices nobody retried), none of which moved money;
* arbitrary payments without a cabinet (and a few advances from cabinets);
* saved cards for about 40 % of the activated customers (the first one default);
* about 1 % of the succeeded payments refunded, fully or in part, by the demo
  finance officer; a refund of an invoice's payment lowers the invoice's paid
  amount through ``core.billing.invoice_rules.settle`` (event REVERT);
* a few payments whose outcome is unknown (``pending``), one of them for manual review;
* every payment's events (its timeline through ``core.payments.machine``) and the
  ledger journals of every succeeded payment and refund, with the same lines as
  ``core.finance.ledger.post_payment`` / ``post_refund``;
* the fiscalised receipt of every payment that moved money (``core.demo.receipts``,
  shared with the scale data set).

Card numbers are only ever masked (``BIN6******LAST4``); no text written here
contains 16 digits in a row (the request fingerprints are re-hashed if one would).
"""
from __future__ import annotations

import gc
import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from core.db.models import (AccountBinding, Customer, Invoice, LedgerEntry, LedgerJournal, Payment,
                            PaymentEventRecord, Provider, ProviderAccount, Receipt, Refund,
                            SavedCard, StaffUser)
from core.actors import ActorKind
from core.billing.invoice_rules import InvoiceStatus
from core.db.types import UTCDateTime
from core.billing import invoice_rules
from core.money import Money
from core.payments import gateway
from core.finance import ledger
from core.payments.amounts import commission as commission_of
from core.payments.fiscal import SIMULATOR_FISCAL_DRIVE_NUMBER
from core.demo.receipts import COLUMNS as RECEIPT_COLUMNS, demo_receipts
from core.payments.machine import CHARGED, PaymentEvent as E, PaymentStatus as S, transition, values
from core.timefmt import moscow_date

BATCH = 4000  # rows per bulk statement
LOCAL = timedelta(hours=3)  # Moscow time: people pay in their daytime

# (BIN, brand, weight): test-like numbers only.
CARD_BINS = (("220000", "mir", 25), ("220220", "mir", 20), ("411111", "visa", 15),
             ("427600", "visa", 15), ("546960", "mastercard", 15), ("555555", "mastercard", 10))
# Declines of the authorisation: (code, weight); insufficient funds is the most common.
DECLINES = ((gateway.INSUFFICIENT_FUNDS, 45), (gateway.ISSUER_DECLINED, 20),
            (gateway.INCORRECT_CVV, 12), (gateway.EXPIRED_CARD, 8),
            (gateway.OTP_ATTEMPTS_EXCEEDED, 15))
REFUND_REASONS_FULL = ("Ошибочный платёж: оплачен не тот лицевой счёт",
                       "Двойная оплата счёта", "Обращение клиента: платёж не его")
REFUND_REASONS_PART = ("Перерасчёт поставщика: возврат переплаты",
                       "Обращение клиента: оплачено больше начисленного")

# Shares (of the succeeded payments unless said otherwise).
TWO_PARTS = 0.07  # invoices paid in two payments
FAILED_ATTEMPT = 0.11  # a failed attempt (declined/failed/expired) before a success
GAVE_UP = 0.04  # of this month's unpaid invoices: one declined attempt, no retry
ANONYMOUS = 0.05  # arbitrary payments without a cabinet, per invoice payment
ADVANCES = 0.01  # arbitrary payments (advances) from cabinets, per invoice payment
LAST_DAY = 0.002  # arbitrary payments on the history's last day, per invoice payment (2 at least)
REFUNDED = 0.01
SAVED_CARDS = 0.40  # of the activated customers
PENDING = (5, 8)

_DIGIT_RUN = re.compile(r"\d{16}")


@dataclass
class PaymentCounts:
    """What one call wrote (for the CLI's summary and the tests)."""

    saved_cards: int = 0
    payments: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    events: int = 0
    refunds: int = 0
    journals: int = 0
    entries: int = 0
    invoices_reverted: int = 0
    receipts: int = 0

    def add(self, other: PaymentCounts) -> None:
        for name in ("saved_cards", "payments", "events", "refunds", "journals", "entries",
                     "invoices_reverted", "receipts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n


# --- timelines ---------------------------------------------------------------
# A flow is the list of (event, actor) a payment goes through, from «created».
# The statuses come from the state machine, so the events can never disagree with it.

_C, _SYS = ActorKind.CUSTOMER, ActorKind.SYSTEM
FLOWS: dict[str, tuple[tuple[E, ActorKind, int], ...]] = {  # (event, actor, seconds after start)
    "succeeded": ((E.AUTHORIZE_SENT, _C, 0), (E.OTP_REQUIRED, _SYS, 2),
                  (E.OTP_CONFIRMED, _C, 45)),
    "declined": ((E.AUTHORIZE_SENT, _C, 0), (E.GATEWAY_DECLINED, _SYS, 2)),
    "otp_rejected": ((E.AUTHORIZE_SENT, _C, 0), (E.OTP_REQUIRED, _SYS, 2),
                     (E.OTP_REJECTED_FINAL, _C, 70)),
    "failed": ((E.AUTHORIZE_SENT, _C, 0), (E.GATEWAY_ERROR, _SYS, 3)),
    "expired": ((E.AUTHORIZE_SENT, _C, 0), (E.OTP_REQUIRED, _SYS, 2),
                (E.OTP_EXPIRED, _SYS, 302)),
    "pending_auth": ((E.AUTHORIZE_SENT, _C, 0), (E.GATEWAY_TIMEOUT, _SYS, 30)),
    "pending_otp": ((E.AUTHORIZE_SENT, _C, 0), (E.OTP_REQUIRED, _SYS, 2),
                    (E.GATEWAY_TIMEOUT, _SYS, 75)),
}


def _walk(flow: tuple[tuple[E, ActorKind, int], ...]) -> list[tuple[E, S, S, ActorKind, int]]:
    """The flow's steps with the statuses the state machine gives (it refuses a wrong one)."""
    status, steps = S.CREATED, []
    for event, actor, seconds in flow:
        after = transition(status, event)
        steps.append((event, status, after, actor, seconds))
        status = after
    return steps


# The same as plain strings (the rows are written by value; enum lookups add up).
_STEPS = {name: [(e.value, before.value, after.value, actor.value, seconds)
                 for e, before, after, actor, seconds in _walk(flow)]
          for name, flow in FLOWS.items()}
_FINAL_OF = {name: steps[-1][2] for name, steps in _STEPS.items()}
_CUSTOMER, _SYSTEM = ActorKind.CUSTOMER.value, ActorKind.SYSTEM.value
_CONFIRMED = E.OTP_CONFIRMED.value
_NO_MONEY = (S.DECLINED.value, S.FAILED.value)


# --- helpers -----------------------------------------------------------------

def _add_months(day: date, months: int) -> date:
    return invoice_rules.add_months(day, months)


def _at(day: date, hour: float = 6.0) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(hours=hour)


# Two-hour slots of the day (Moscow) weighted by how often people pay then.
_HOURS = tuple(h for h, w in zip((8, 10, 12, 14, 16, 18, 20, 22), (3, 6, 8, 7, 7, 9, 10, 5))
               for _ in range(w))


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end], at a time of day people pay (08–23 Moscow) when it fits."""
    if end <= start:
        return start
    span = (end - start).total_seconds()
    for _ in range(4):
        local = start + timedelta(seconds=rng.random() * span) + LOCAL
        t = local.replace(hour=rng.choice(_HOURS), minute=0, second=0, microsecond=0) \
            + timedelta(seconds=int(rng.random() * 7200)) - LOCAL
        if start <= t <= end:
            return t
    return start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))


def _fingerprint(*parts: object) -> str:
    """SHA-256 hex of what was asked; re-salted in the rare case the hex has 16 digits
    in a row (the database is scanned for anything that looks like a card number)."""
    text = "|".join(str(p) for p in parts)
    salt = 0
    while True:
        digest = hashlib.sha256(f"{text}|{salt}".encode()).hexdigest()
        if not _DIGIT_RUN.search(digest):
            return digest
        salt += 1


@dataclass
class _Card:
    brand: str
    masked: str
    saved_index: int | None = None  # index into the saved-card rows
    created_at: datetime | None = None


def _new_card(rng: random.Random) -> _Card:
    bin6, brand, _ = rng.choices(CARD_BINS, [w for *_, w in CARD_BINS])[0]
    return _Card(brand, f"{bin6}******{rng.randrange(10_000):04d}")


@dataclass
class _Payer:
    customer_id: int
    email: str
    activated_at: datetime
    cards: list[_Card] = field(default_factory=list)  # saved ones, oldest first
    own: _Card | None = None  # the card used when no saved card is

    def card(self, rng: random.Random, at: datetime) -> _Card:
        saved = [c for c in self.cards if c.created_at is not None and c.created_at <= at]
        if saved and rng.random() < 0.85:
            return saved[0] if len(saved) == 1 or rng.random() < 0.75 else saved[1]
        if self.own is None:
            self.own = _new_card(rng)
        return self.own


@dataclass
class _Account:
    id: int
    provider_id: int
    number: str
    bp: int
    minimum: int
    payer: _Payer | None


# --- bulk writing ------------------------------------------------------------

def _fast_datetime(dialect: Any, column_type: Any) -> Any:
    """SQLite only: UTCDateTime's bind conversion as one f-string (a few times faster
    than the TypeDecorator chain), used only if it gives exactly what SQLAlchemy gives."""
    if dialect.name != "sqlite" or not isinstance(column_type, UTCDateTime):
        return None
    reference = column_type.dialect_impl(dialect).bind_processor(dialect)

    def convert(value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.utcoffset() != _ZERO:
            value = value.astimezone(timezone.utc)
        return value.isoformat(" ", "microseconds")[:26]

    sample = datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=timezone.utc)
    ok = reference is not None and all(
        reference(v) == convert(v) for v in (sample, sample.astimezone(timezone(LOCAL))))
    return convert if ok else None


_ZERO = timedelta(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def bulk_insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` many rows (all with the same keys) through the driver's executemany,
    in batches of ``BATCH``: the statement is compiled once and each value goes through
    its column type's bind conversion, without SQLAlchemy's per-row parameter machinery
    (three times faster for wide rows; same SQL, same stored values)."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    names = list(compiled.positiontup or ()) if compiled.positional else keys
    assert set(names) == set(keys), (names, keys)
    converters = []
    for name in names:
        column_type = table.c[name].type
        converters.append(_fast_datetime(dialect, column_type)
                          or column_type.dialect_impl(dialect).bind_processor(dialect))
    values_of = itemgetter(*names)
    convert = [(i, f) for i, f in enumerate(converters) if f is not None]
    sql = compiled.string
    for k in range(0, len(rows), BATCH):
        params: list[Any] = []
        for row in rows[k:k + BATCH]:
            values = list(values_of(row))
            for i, f in convert:
                if values[i] is not None:
                    values[i] = f(values[i])
            params.append(tuple(values) if compiled.positional else dict(zip(names, values)))
        conn.exec_driver_sql(sql, params)


# --- the seeder ----------------------------------------------------------------

def finance_staff_id(session: Session) -> int:
    """The demo finance officer («finance»), who requests the demo refunds."""
    staff_id = session.scalar(select(StaffUser.id).where(StaffUser.login == "finance"))
    if staff_id is None:
        raise LookupError("демо-сотрудник finance не найден: сначала ensure_demo_staff()")
    return staff_id


def seed_payments(session: Session, rng: random.Random, customer_ids: list[int], now: datetime,
                  *, refunds_by: int | None = None) -> PaymentCounts:
    """Payments and everything around them for the accounts bound to ``customer_ids``
    (customers just written by ``seed_demo``, with their billing). ``refunds_by``: the
    staff id requesting refunds (default: the demo «finance» user). Does not commit."""
    counts = PaymentCounts()
    if not customer_ids:
        return counts
    staff_id = refunds_by if refunds_by is not None else finance_staff_id(session)
    # Hundreds of thousands of row dicts, no reference cycles: the cyclic collector
    # would walk them again and again for nothing (a quarter of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        w = _Writer(session, rng, now, staff_id)
        w.load(customer_ids)
        w.cards()
        w.invoice_payments()
        w.arbitrary_payments()
        w.abandoned_attempts()
        w.pending_payments()
        w.refunds()
        w.flush(counts)
    finally:
        if collecting:
            gc.enable()
    return counts


class _Writer:
    def __init__(self, session: Session, rng: random.Random, now: datetime, staff_id: int) -> None:
        self.s, self.rng, self.now, self.staff_id = session, rng, now, staff_id
        self.payers: dict[int, _Payer] = {}
        self.accounts: dict[int, _Account] = {}
        self.invoices: list[Any] = []
        self.card_rows: list[dict[str, Any]] = []
        # Payments being built: the row plus what the later steps need (not columns).
        self.payments: list[dict[str, Any]] = []
        self.flows: list[str] = []
        # payment index, amount, requested at, completed at, reason
        self.refund_plan: list[tuple[int, int, datetime, datetime, str]] = []
        self.invoice_state: dict[int, tuple[InvoiceStatus, int, int]] = {}  # id -> status, due, paid
        self.changed_invoices: set[int] = set()

    # -- reading what billing wrote --
    def load(self, customer_ids: list[int]) -> None:
        lo, hi = min(customer_ids), max(customer_ids)
        wanted = set(customer_ids)
        for cid, email, activated in self.s.execute(
                select(Customer.id, Customer.email, Customer.activated_at)
                .where(Customer.id.between(lo, hi), Customer.activated_at.is_not(None))
                .order_by(Customer.id)):
            if cid in wanted:
                self.payers[cid] = _Payer(cid, email, activated)
        for cid, aid, pid, number, bp, minimum in self.s.execute(
                select(AccountBinding.customer_id, ProviderAccount.id, ProviderAccount.provider_id,
                       ProviderAccount.number, Provider.commission_bp, Provider.commission_min)
                .join(ProviderAccount, ProviderAccount.id == AccountBinding.provider_account_id)
                .join(Provider, Provider.id == ProviderAccount.provider_id)
                .where(AccountBinding.customer_id.between(lo, hi),
                       AccountBinding.removed_at.is_(None))
                .order_by(AccountBinding.id)):
            if cid in self.payers and aid not in self.accounts:
                self.accounts[aid] = _Account(aid, pid, number, bp, minimum, self.payers[cid])
        if not self.accounts:
            return
        self.invoices = [row for row in self.s.execute(
            select(Invoice.id, Invoice.provider_account_id, Invoice.period, Invoice.total_due,
                   Invoice.due_date, Invoice.status, Invoice.paid_amount)
            .where(Invoice.provider_account_id.between(min(self.accounts), max(self.accounts)))
            .order_by(Invoice.id)) if row.provider_account_id in self.accounts]

    # -- saved cards --
    def cards(self) -> None:
        rng, latest = self.rng, self.now - timedelta(hours=1)
        for payer in self.payers.values():
            if rng.random() >= SAVED_CARDS or payer.activated_at >= latest:
                continue
            created = min(payer.activated_at + timedelta(days=rng.uniform(0, 60)), latest)
            for n in range(1 if rng.random() < 0.7 else 2):
                card = _new_card(rng)
                card.created_at = created
                card.saved_index = len(self.card_rows)
                self.card_rows.append(dict(
                    customer_id=payer.customer_id, gateway_token="",  # numbered at flush
                    brand=card.brand, masked_pan=card.masked, exp_month=rng.randint(1, 12),
                    exp_year=rng.randint(self.now.year + 1, self.now.year + 5),
                    is_default=n == 0, created_at=created, removed_at=None))
                payer.cards.append(card)
                created = min(created + timedelta(days=rng.uniform(5, 200)), latest)

    # -- building payments --
    def _payment(self, flow: str, account: _Account, amount: int, start: datetime, *,
                 invoice_id: int | None, by_cabinet: bool = True,
                 email: str | None = None) -> int:
        rng = self.rng
        payer = account.payer if by_cabinet else None
        customer_id, receipt_email = None, email
        if payer is not None and start >= payer.activated_at:
            customer_id = payer.customer_id
            card = payer.card(rng, start)
        else:
            # Paid before the cabinet existed (or never through one): an e-mail receipt.
            receipt_email = receipt_email or (payer.email if payer else None)
            card = _new_card(rng)
        steps = _STEPS[flow]
        status = _FINAL_OF[flow]
        end = start + timedelta(seconds=steps[-1][4] + rng.randint(0, 20))
        final = status not in ("pending",)
        row: dict[str, Any] = dict(
            idempotency_key="", request_fingerprint="", customer_id=customer_id,
            receipt_email=receipt_email if customer_id is None else None,
            provider_id=account.provider_id, provider_account_id=account.id,
            account_number=account.number, invoice_id=invoice_id, amount=amount,
            commission=commission_of(Money(amount), account.bp, account.minimum).kopecks,
            status=status, saved_card_id=None, card_brand=card.brand, masked_pan=card.masked,
            gateway_txn_id=None, rrn=None, auth_code=None, decline_code=None,
            decline_reason=None, refunded_amount=0, created_at=start, updated_at=end,
            finalized_at=end if final else None, next_check_at=None, check_attempts=0,
            manual_review=False, version=1)
        row["_card"] = card if customer_id is not None else None
        row["_end"] = end
        if flow == "succeeded":
            row.update(rrn=f"{rng.randrange(10**11, 10**12)}", auth_code=f"{rng.randrange(10**6):06d}")
        elif flow in ("declined", "otp_rejected"):
            code = (gateway.OTP_ATTEMPTS_EXCEEDED if flow == "otp_rejected"
                    else rng.choices(DECLINES[:-1], [w for _, w in DECLINES[:-1]])[0][0])
            row.update(decline_code=code, decline_reason=gateway.DECLINE_MESSAGES[code])
        elif flow == "failed":
            row.update(decline_code=gateway.PROCESSING_ERROR,
                       decline_reason=gateway.DECLINE_MESSAGES[gateway.PROCESSING_ERROR])
        self.payments.append(row)
        self.flows.append(flow)
        return len(self.payments) - 1

    def _failed_flow(self) -> str:
        roll = self.rng.random()
        if roll < 0.80:
            code_roll = self.rng.random()
            return "otp_rejected" if code_roll < 0.12 else "declined"
        return "failed" if roll < 0.90 else "expired"

    def _succeed(self, account: _Account, amount: int, at: datetime,
                 invoice_id: int | None, **kw: Any) -> int:
        """A succeeded payment, sometimes after an attempt that did not go through."""
        if self.rng.random() < FAILED_ATTEMPT:
            earlier = at - timedelta(minutes=self.rng.uniform(3, 90))
            self._payment(self._failed_flow(), account, amount, earlier,
                          invoice_id=invoice_id, **kw)
        return self._payment("succeeded", account, amount, at, invoice_id=invoice_id, **kw)

    def invoice_payments(self) -> None:
        rng, latest = self.rng, self.now - timedelta(hours=1)
        windows: dict[tuple[date, date], tuple[datetime, datetime, datetime]] = {}
        for inv in self.invoices:
            self.invoice_state[inv.id] = (inv.status, inv.total_due, inv.paid_amount)
            if inv.paid_amount <= 0:
                continue
            account = self.accounts[inv.provider_account_id]
            window = windows.get((inv.period, inv.due_date))
            if window is None:
                issued = min(_at(_add_months(inv.period, 1), 5), self.now - timedelta(days=4))
                due = _at(inv.due_date, 20.9)  # the end of the due day, Moscow time
                end = min(due + timedelta(days=10), latest)
                window = windows[(inv.period, inv.due_date)] = (issued, min(due, end), end)
            issued, on_time, end = window
            first = (_moment(rng, issued, on_time) if rng.random() < 0.85
                     else _moment(rng, on_time, end))
            paid = inv.paid_amount
            if paid >= 200 and rng.random() < TWO_PARTS and first + timedelta(days=1) < end:
                part = max(100, min(paid - 100, int(paid * rng.uniform(0.3, 0.7)) // 100 * 100))
                second = _moment(rng, first + timedelta(days=1), end)
                self._succeed(account, part, first, inv.id)
                self._succeed(account, paid - part, second, inv.id)
            else:
                self._succeed(account, paid, first, inv.id)

    def arbitrary_payments(self) -> None:
        rng = self.rng
        accounts = list(self.accounts.values())
        n_paid = sum(1 for f in self.flows if f == "succeeded")
        start, end = self.now - timedelta(days=365), self.now - timedelta(hours=2)
        for _ in range(round(n_paid * ANONYMOUS)):
            account = rng.choice(accounts)
            amount = rng.choice((300, 500, 1000, 1500, 2000, 2500, 3000, 5000)) * 100
            email = f"payer{rng.randrange(10**6):06d}@{rng.choice(('mail.ru', 'yandex.ru', 'gmail.com'))}"
            self._succeed(account, amount, _moment(rng, start, end), None,
                          by_cabinet=False, email=email)
        for _ in range(round(n_paid * ADVANCES)):
            account = rng.choice(accounts)
            amount = rng.choice((500, 1000, 2000, 3000)) * 100
            self._succeed(account, amount, _moment(rng, start, end), None)
        # Yesterday is never empty, however few the customers: the pages open on it
        # («Реестры перечислений» on the day before today).
        last_day = self.now - timedelta(days=1)
        for _ in range(max(2, round(n_paid * LAST_DAY))):
            account = rng.choice(accounts)
            amount = rng.choice((500, 1000, 2000, 3000)) * 100
            self._succeed(account, amount, _moment(rng, last_day, end), None)

    def abandoned_attempts(self) -> None:
        """Attempts on this month's unpaid invoices that were declined and not retried."""
        rng = self.rng
        for inv in self.invoices:
            if inv.status is InvoiceStatus.UNPAID and inv.paid_amount == 0 \
                    and inv.due_date > moscow_date(self.now) and rng.random() < GAVE_UP:
                at = _moment(rng, self.now - timedelta(days=12), self.now - timedelta(hours=3))
                self._payment(self._failed_flow(), self.accounts[inv.provider_account_id],
                              inv.total_due, at, invoice_id=inv.id)

    def pending_payments(self) -> None:
        rng = self.rng
        unpaid = [inv for inv in self.invoices if inv.status is InvoiceStatus.UNPAID
                  and inv.paid_amount == 0 and inv.total_due > 0]
        chosen = rng.sample(unpaid, k=min(len(unpaid), rng.randint(*PENDING)))
        for n, inv in enumerate(chosen):
            review = n == 0
            at = (self.now - timedelta(days=2, minutes=rng.uniform(0, 600)) if review
                  else self.now - timedelta(minutes=rng.uniform(2, 50)))
            i = self._payment(rng.choice(("pending_auth", "pending_otp")),
                              self.accounts[inv.provider_account_id], inv.total_due, at,
                              invoice_id=inv.id)
            row = self.payments[i]
            if review:  # the checks gave up: a person must look
                row.update(manual_review=True, check_attempts=8, next_check_at=None)
            else:
                row.update(next_check_at=self.now, check_attempts=0)

    def refunds(self) -> None:
        rng, latest = self.rng, self.now - timedelta(hours=1)
        candidates = [i for i, f in enumerate(self.flows)
                      if f == "succeeded" and self.payments[i]["_end"] < latest - timedelta(days=1)]
        for i in sorted(rng.sample(candidates, k=round(len(candidates) * REFUNDED))):
            p = self.payments[i]
            at = p["_end"] + timedelta(hours=rng.uniform(2, 24 * 20))
            at = min(at, latest - timedelta(minutes=30))
            amount = p["amount"]
            if amount >= 200 and rng.random() < 0.4:  # partial
                part = max(100, int(amount * rng.uniform(0.1, 0.6)))
                self._refund(i, part, at, rng.choice(REFUND_REASONS_PART))
                if rng.random() < 0.15:  # the rest later
                    self._refund(i, amount - part, min(at + timedelta(days=2), latest),
                                 rng.choice(REFUND_REASONS_FULL))
            else:
                self._refund(i, amount, at, rng.choice(REFUND_REASONS_FULL))

    def _refund(self, i: int, amount: int, at: datetime, reason: str) -> None:
        done = at + timedelta(seconds=self.rng.randint(2, 40))
        self.refund_plan.append((i, amount, at, done, reason))

    # -- writing --
    def _insert(self, model: type, rows: list[dict[str, Any]], key: str | None = None) -> list[int]:
        """Bulk insert; with ``key`` (a unique column) returns the new ids in the order of
        ``rows``, read back by that key (RETURNING with a guaranteed order degrades to
        row-by-row on SQLite)."""
        table = model.__table__  # type: ignore[attr-defined]
        if not rows:
            return []
        first = (self.s.scalar(select(table.c.id).order_by(table.c.id.desc()).limit(1)) or 0) + 1
        bulk_insert(self.s, table, rows)
        if key is None:
            return []
        by_key = {value: row_id for row_id, value in self.s.execute(
            select(table.c.id, table.c[key]).where(table.c.id >= first))}
        return [by_key[row[key]] for row in rows]

    def flush(self, counts: PaymentCounts) -> None:
        s = self.s
        seq = (s.scalar(select(Payment.id).order_by(Payment.id.desc()).limit(1)) or 0) + 1
        card_seq = (s.scalar(select(SavedCard.id).order_by(SavedCard.id.desc()).limit(1)) or 0) + 1
        refund_seq = (s.scalar(select(Refund.id).order_by(Refund.id.desc()).limit(1)) or 0) + 1
        for n, row in enumerate(self.card_rows):
            row["gateway_token"] = f"demo-tok-{card_seq + n:08d}"
        card_ids = self._insert(SavedCard, self.card_rows, key="gateway_token")

        # Chronological, so payment ids grow with time as they would in production.
        order = sorted(range(len(self.payments)), key=lambda i: self.payments[i]["created_at"])
        position = {i: n for n, i in enumerate(order)}
        refunds_of: dict[int, list[tuple[int, datetime]]] = {}
        for i, amount, _, done, _ in self.refund_plan:
            refunds_of.setdefault(i, []).append((amount, done))
        rows = []
        for n, i in enumerate(order):
            p = self.payments[i]
            card = p.pop("_card")
            p.pop("_end")
            key = f"demo-pay-{seq + n:08d}"
            p["idempotency_key"] = key
            p["request_fingerprint"] = _fingerprint(p["provider_id"], p["account_number"],
                                                    p["invoice_id"], p["amount"], key)
            if self.flows[i] != "pending_auth":  # a lost authorisation answer: no txn id
                p["gateway_txn_id"] = f"demo-{seq + n:08d}"
            if card is not None and card.saved_index is not None:
                p["saved_card_id"] = card_ids[card.saved_index]
            refunded = sum(a for a, _ in refunds_of.get(i, ()))
            if refunded:
                p["refunded_amount"] = refunded
                p["status"] = (S.REFUNDED if refunded == p["amount"]
                               else S.PARTIALLY_REFUNDED).value
                p["updated_at"] = max(done for _, done in refunds_of[i])
            rows.append(p)
        payment_ids = self._insert(Payment, rows, key="idempotency_key")
        pid_of = {i: payment_ids[position[i]] for i in range(len(self.payments))}

        refund_rows, refund_src = [], []
        for i, amount, at, done, reason in sorted(self.refund_plan, key=lambda r: r[2]):
            n = len(refund_rows)
            refund_rows.append(dict(
                payment_id=pid_of[i], idempotency_key=f"demo-refund-{refund_seq + n:08d}",
                amount=amount, reason=reason, status="succeeded",
                requested_by_staff_id=self.staff_id, approved_by_staff_id=None,
                gateway_refund_id=f"demo-r-{refund_seq + n:08d}",
                rrn=f"{900_000_000_000 + (refund_seq + n) % 10**11}", created_at=at,
                completed_at=done))
            refund_src.append(i)
        refund_ids = self._insert(Refund, refund_rows, key="idempotency_key")

        # Events: the flow, then the refunds in time order.
        refund_events: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for refund_id, i, r in zip(refund_ids, refund_src, refund_rows):
            refund_events.setdefault(i, []).append((refund_id, r))
        event_rows = []
        for i in order:
            p, pid = self.payments[i], pid_of[i]
            start = p["created_at"]
            steps = _STEPS[self.flows[i]]
            last = len(steps) - 1
            for k, (event, before, after, actor, seconds) in enumerate(steps):
                # The last answer closes the payment (finalized_at; updated_at if pending).
                at = (p["finalized_at"] or p["updated_at"]) if k == last \
                    else start + timedelta(seconds=seconds)
                if p["customer_id"] is None and actor == _CUSTOMER:
                    actor = _SYSTEM  # no cabinet: the payment page, not a customer
                details: dict[str, Any] | None = None
                if event == _CONFIRMED:
                    details = {"rrn": p["rrn"], "auth_code": p["auth_code"]}
                elif after in _NO_MONEY:
                    details = {"decline_code": p["decline_code"]}
                event_rows.append(dict(payment_id=pid, at=at, event=event, from_status=before,
                                       to_status=after, actor_kind=actor, staff_id=None,
                                       details=details))
            status, left = S.SUCCEEDED, p["amount"]
            for refund_id, r in refund_events.get(i, ()):
                left -= r["amount"]
                event = E.REFUND_FULL if left == 0 else E.REFUND_PARTIAL
                after = transition(status, event)
                event_rows.append(dict(payment_id=pid, at=r["completed_at"], event=event.value,
                                       from_status=status.value, to_status=after.value,
                                       actor_kind=ActorKind.STAFF, staff_id=self.staff_id,
                                       details={"refund_id": refund_id, "amount": r["amount"]}))
                status = after
            assert status.value == p["status"] or i not in refund_events
        self._insert(PaymentEventRecord, event_rows)

        # Invoices: a refunded invoice payment is reverted through the invoice rules.
        for refund_id, i, r in sorted(zip(refund_ids, refund_src, refund_rows),
                                      key=lambda t: t[2]["created_at"]):
            invoice_id = self.payments[i]["invoice_id"]
            if invoice_id is None:
                continue
            status, total_due, paid = self.invoice_state[invoice_id]
            settled = invoice_rules.settle(status, total_due, paid,
                                           invoice_rules.InvoiceEvent.REVERT, r["amount"])
            self.invoice_state[invoice_id] = (settled.status, total_due, settled.paid_amount)
            self.changed_invoices.add(invoice_id)
        if self.changed_invoices:
            table = Invoice.__table__
            s.connection().execute(
                update(table).where(table.c.id == bindparam("iid"))
                .values(status=bindparam("st"), paid_amount=bindparam("pa")),
                [dict(iid=iid, st=self.invoice_state[iid][0], pa=self.invoice_state[iid][2])
                 for iid in sorted(self.changed_invoices)])

        # Ledger: the same lines as ledger.post_payment / post_refund.
        journal_rows, lines = [], []
        for i in order:
            p = self.payments[i]
            if p["status"] in values(CHARGED):
                journal_rows.append(dict(kind=ledger.KIND_PAYMENT, at=p["finalized_at"],
                                         payment_id=pid_of[i], refund_id=None,
                                         reverses_journal_id=None, memo=None))
                lines.append(ledger.payment_lines(p["provider_id"], p["amount"], p["commission"]))
        for refund_id, i, r in zip(refund_ids, refund_src, refund_rows):
            p = self.payments[i]
            journal_rows.append(dict(kind=ledger.KIND_REFUND, at=r["completed_at"],
                                     payment_id=pid_of[i], refund_id=refund_id,
                                     reverses_journal_id=None, memo=None))
            lines.append(ledger.refund_lines(p["provider_id"], r["amount"]))
        journal_order = sorted(range(len(journal_rows)), key=lambda j: journal_rows[j]["at"])
        journal_ids = self._insert_journals([journal_rows[j] for j in journal_order])
        entry_rows = []
        for journal_id, j in zip(journal_ids, journal_order):
            assert sum(a for _, _, a in lines[j]) == 0
            entry_rows += [dict(journal_id=journal_id, account=account, provider_id=provider,
                                amount=amount)
                           for account, provider, amount in lines[j] if amount != 0]
        self._insert(LedgerEntry, entry_rows)
        receipt_count = self._receipts(order, pid_of)

        self._count(counts, card_ids, payment_ids, event_rows, refund_ids, journal_ids, entry_rows)
        counts.receipts += receipt_count

    def _receipts(self, order: list[int], pid_of: dict[int, int]) -> int:
        """A fiscalised receipt per payment that moved money (``core.demo.receipts``),
        sent to the payer's e-mail; ФД goes on from the demo drive's last one."""
        charged = [i for i in order if self.payments[i]["status"] in values(CHARGED)]
        if not charged:
            return 0
        table = Receipt.__table__
        last = self.s.scalar(select(func.max(table.c.fiscal_document_number)).where(
            table.c.fiscal_drive_number == SIMULATOR_FISCAL_DRIVE_NUMBER)) or 0
        paid_at = [self.payments[i]["finalized_at"] for i in charged]
        receipts = demo_receipts(
            np.random.default_rng(self.rng.getrandbits(64)),
            np.array([pid_of[i] for i in charged], dtype=np.int64),
            np.array([(at - _EPOCH) // _MICROSECOND for at in paid_at], dtype=np.int64),
            [self._receipt_email(self.payments[i]) for i in charged],
            first_document_number=last + 1)
        fiscalised = [_EPOCH + timedelta(microseconds=int(v)) for v in receipts.fiscalised_at]
        bulk_insert(self.s, table, [dict(zip(RECEIPT_COLUMNS, row))
                                    for row in receipts.rows(paid_at, fiscalised)])
        return len(charged)

    def _receipt_email(self, payment: dict[str, Any]) -> str | None:
        """Where the receipt went: the cabinet's e-mail, else the one given for it."""
        payer = self.payers.get(payment["customer_id"]) if payment["customer_id"] else None
        return payer.email if payer is not None and payer.email else payment["receipt_email"]

    def _insert_journals(self, rows: list[dict[str, Any]]) -> list[int]:
        """Journals have no unique column: read back by (kind, payment, refund), which is
        unique among these new ones (one payment journal per payment, one per refund)."""
        table = LedgerJournal.__table__
        first = (self.s.scalar(select(table.c.id).order_by(table.c.id.desc()).limit(1)) or 0) + 1
        bulk_insert(self.s, table, rows)
        by_key = {(kind, payment_id, refund_id): row_id
                  for row_id, kind, payment_id, refund_id in self.s.execute(
                      select(table.c.id, table.c.kind, table.c.payment_id, table.c.refund_id)
                      .where(table.c.id >= first))}
        return [by_key[(r["kind"], r["payment_id"], r["refund_id"])] for r in rows]

    def _count(self, counts: PaymentCounts, card_ids: list[int], payment_ids: list[int],
               event_rows: list[Any], refund_ids: list[int], journal_ids: list[int],
               entry_rows: list[Any]) -> None:
        counts.saved_cards += len(card_ids)
        counts.payments += len(payment_ids)
        for p in self.payments:
            counts.by_status[p["status"]] = counts.by_status.get(p["status"], 0) + 1
        counts.events += len(event_rows)
        counts.refunds += len(refund_ids)
        counts.journals += len(journal_ids)
        counts.entries += len(entry_rows)
        counts.invoices_reverted += len(self.changed_invoices)

