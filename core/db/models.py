"""Typed ORM models. Enums are stored by value as short strings.

Status is never a column when it can be derived: a cabinet is blocked while it
has a block row that is not lifted (see ``CabinetBlock``).
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (
    JSON, BigInteger, Boolean, CheckConstraint, Computed, Date, Enum, ForeignKey, Index, Integer,
    LargeBinary, MetaData, Numeric, SmallInteger,
    String, Text, UniqueConstraint, false, text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.actors import ActorKind, StaffRole
from core.billing.invoice_rules import InvoiceStatus
from core.db.types import UTCDateTime, intpk
from core.notifications.channels import Channel, MessageStatus

# The status enums live with the rules of their context and are only stored here.


def _enum(cls: type[enum.Enum], length: int = 20) -> Enum:
    return Enum(cls, values_callable=lambda e: [m.value for m in e], native_enum=False,
                length=length, validate_strings=True, create_constraint=False)


# The last four characters of the masked card number, in SQL both databases speak.
PAN_LAST4_SQL = "substr(masked_pan, length(masked_pan) - 3)"


class Base(DeclarativeBase):
    # Named constraints, so later migrations can drop or alter them on SQLite too.
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s"})
    type_annotation_map = {datetime: UTCDateTime()}


class Customer(Base):
    """A personal cabinet («личный кабинет») and its owner's data."""

    __tablename__ = "customers"

    id: Mapped[intpk]
    phone: Mapped[str] = mapped_column(String(12), unique=True)  # +7XXXXXXXXXX
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    code_word_hash: Mapped[str] = mapped_column(String(255))  # argon2id of the normalised word
    surname: Mapped[Optional[str]] = mapped_column(String(100))
    first_name: Mapped[Optional[str]] = mapped_column(String(100))
    patronymic: Mapped[Optional[str]] = mapped_column(String(100))
    birth_date: Mapped[Optional[date]] = mapped_column(Date)
    address: Mapped[Optional[str]] = mapped_column(String(300))
    # Lower-cased "surname first patronymic": SQLite's lower() knows only ASCII,
    # so name search compares against this Python-lowered copy.
    search_name: Mapped[str] = mapped_column(String(310), default="", index=True)
    agreement_version: Mapped[str] = mapped_column(String(20))
    agreement_accepted_at: Mapped[datetime]
    registered_at: Mapped[datetime] = mapped_column(index=True)
    activated_at: Mapped[Optional[datetime]]
    # Wrong code-word answers in a row; at 3 the checks lock until an admin clears them.
    code_word_failures: Mapped[int] = mapped_column(Integer, default=0)
    code_word_locked_at: Mapped[Optional[datetime]]

    blocks: Mapped[list["CabinetBlock"]] = relationship(
        back_populates="customer", order_by="CabinetBlock.blocked_at")


class CabinetBlock(Base):
    """One blocking of a cabinet; the cabinet is blocked while any row has lifted_at NULL."""

    __tablename__ = "cabinet_blocks"
    __table_args__ = (
        Index("ix_cabinet_blocks_customer_open", "customer_id", "lifted_at"),
        # «Заблокированные кабинеты»: the open blocks newest first. Partial: PostgreSQL
        # would not take ``lifted_at IS NULL`` as fixing a leading column and sorted (0032).
        Index("ix_cabinet_blocks_open_newest", "blocked_at", "id",
              postgresql_where=text("lifted_at IS NULL"),
              sqlite_where=text("lifted_at IS NULL")),
        CheckConstraint("length(reason) > 0", name="reason_not_empty"),
    )

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    reason: Mapped[str] = mapped_column(String(500))
    blocked_by_kind: Mapped[ActorKind] = mapped_column(_enum(ActorKind))
    blocked_by_staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    blocked_at: Mapped[datetime]
    lifted_at: Mapped[Optional[datetime]]
    lifted_by_staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    lift_reason: Mapped[Optional[str]] = mapped_column(String(500))
    # "code_word": an agent verified the caller; "admin_override": an admin's written reason.
    lift_method: Mapped[Optional[str]] = mapped_column(String(20))

    customer: Mapped[Customer] = relationship(back_populates="blocks")
    blocked_by: Mapped[Optional["StaffUser"]] = relationship(foreign_keys=[blocked_by_staff_id])
    lifted_by: Mapped[Optional["StaffUser"]] = relationship(foreign_keys=[lifted_by_staff_id])


class ActivationCode(Base):
    """A 4-digit SMS code; only its HMAC is kept, bound to the cabinet and this row."""

    __tablename__ = "activation_codes"
    __table_args__ = (Index("ix_activation_codes_customer", "customer_id", "created_at"),)

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    code_hash: Mapped[str] = mapped_column(String(64))  # hex HMAC-SHA256
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # wrong entries so far
    used_at: Mapped[Optional[datetime]]
    voided_at: Mapped[Optional[datetime]]  # replaced by a newer code or too many attempts


class SpentCaptcha(Base):
    """A captcha challenge that has registered a cabinet, kept while its token could still be
    replayed (the captcha's lifetime), so that one solved challenge registers one cabinet."""

    __tablename__ = "spent_captchas"

    id: Mapped[intpk]
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the key
    spent_at: Mapped[datetime] = mapped_column(index=True)


class CustomerSession(Base):
    """A customer's login, kept on the server so that blocking can end it."""

    __tablename__ = "customer_sessions"
    __table_args__ = (Index("ix_customer_sessions_customer", "customer_id", "ended_at"),)

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    # «Смотреть как клиент»: the staff member looking; such a session reads, never acts.
    viewer_staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    # Such a session first waits for its one-time link to be opened (``token_hash`` is
    # then the link ticket's digest); until then it serves nothing.
    handover_until: Mapped[Optional[datetime]]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[Optional[datetime]]
    end_reason: Mapped[Optional[str]] = mapped_column(String(30))


class LoginThrottle(Base):
    """Failed logins per login name, for customers and staff alike.

    Keyed by the name typed, not by an account, so an unknown login is locked
    exactly like a real one and the lock reveals nothing. Staff logins are also
    counted per client address (so one address cannot lock a login for everyone)
    and per address over all logins (scope "staff_addr", the address as the key).
    """

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("scope", "login_key", "client_address",
                                       name="uq_login_throttles_key"),)

    id: Mapped[intpk]
    scope: Mapped[str] = mapped_column(String(10))  # "customer" | "staff" | "staff_addr"
    login_key: Mapped[str] = mapped_column(String(254))
    # '' counts every address together; else the failures of that login from this address.
    client_address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]]
    window_started_at: Mapped[Optional[datetime]]  # the first failure still counted
    updated_at: Mapped[datetime]


class CodeWordCheck(Base):
    """An agent's check of the code word a caller named; a success allows one unblock, of
    the block that was open when it was made, while no failed check came after it."""

    __tablename__ = "code_word_checks"
    __table_args__ = (Index("ix_code_word_checks_customer", "customer_id", "checked_at"),)

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    checked_at: Mapped[datetime]
    success: Mapped[bool] = mapped_column(Boolean)
    used_at: Mapped[Optional[datetime]]  # consumed by an unblock
    # The block open at the check; NULL: the cabinet was not blocked, nothing to unblock.
    cabinet_block_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cabinet_blocks.id"))


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[intpk]
    login: Mapped[str] = mapped_column(String(50), unique=True)  # lower-case
    name: Mapped[str] = mapped_column(String(150))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    password_hash: Mapped[str] = mapped_column(String(255))  # bcrypt (what the login widget checks)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sessions and login cookies issued before this moment are void: set on
    # logout, password or role change and deactivation.
    sessions_valid_after: Mapped[datetime]
    last_seen_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime]
    # The second factor (core/staff/second_factor.py): the TOTP secret, Fernet-encrypted,
    # once the member confirmed a code from it; a secret being enrolled waits in
    # totp_pending_enc. totp_last_step is the last accepted 30-second step: no code of it
    # or before it is accepted again (a replayed code).
    totp_secret_enc: Mapped[Optional[str]] = mapped_column(String(255))
    totp_pending_enc: Mapped[Optional[str]] = mapped_column(String(255))
    totp_enrolled_at: Mapped[Optional[datetime]]
    totp_last_step: Mapped[Optional[int]] = mapped_column(BigInteger)
    # An administrator's temporary password: to be replaced at the next login.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())


class StaffRecoveryCode(Base):
    """One of a staff member's one-time recovery codes (instead of a TOTP code), kept only
    as an HMAC; used_at set once it has let its owner in."""

    __tablename__ = "staff_recovery_codes"
    __table_args__ = (Index("ix_staff_recovery_codes_staff", "staff_id", "code_hash"),)

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]


class StaffSession(Base):
    """One dashboard login of a staff member (one browser tab's Streamlit session)."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_staff", "staff_id", "ended_at"),)

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))  # the role it was opened with
    origin: Mapped[str] = mapped_column(String(10))  # "password" | "cookie"
    # SHA-256 of the client address and user agent it was opened from (None: not bound).
    client_hash: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[Optional[datetime]]
    end_reason: Mapped[Optional[str]] = mapped_column(String(30))
    # The login step still owed before the session opens any page: "totp" (a code),
    # "password" (replace a temporary one), "enrol" (set up the second factor); None: open.
    pending: Mapped[Optional[str]] = mapped_column(String(10))

    staff: Mapped[StaffUser] = relationship()


class CustomerNote(Base):
    """An internal note by staff about a customer; never shown to the customer."""

    __tablename__ = "customer_notes"
    __table_args__ = (Index("ix_customer_notes_customer", "customer_id", "created_at"),)

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    staff: Mapped[StaffUser] = relationship()


class AuditEntry(Base):
    """Append-only journal (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_staff_at", "staff_id", "at"),
        Index("ix_audit_log_customer_at", "customer_id", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
    )

    id: Mapped[intpk]
    at: Mapped[datetime]
    actor_kind: Mapped[ActorKind] = mapped_column(_enum(ActorKind))
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    # The login typed at a failed staff login, when no staff row matches.
    actor_label: Mapped[Optional[str]] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    reason: Mapped[Optional[str]] = mapped_column(String(1000))
    before: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    after: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    result: Mapped[str] = mapped_column(String(20), default="ok")  # "ok" | "refused" | "failed"

    staff: Mapped[Optional[StaffUser]] = relationship()


class OutboxMessage(Base):
    """A notification waiting for, or handed to, a sender (SMS or e-mail)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_customer", "customer_id", "created_at"),
        Index("ix_outbox_created", "created_at"),  # the outbox's date filter
    )

    id: Mapped[intpk]
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, 10))
    topic: Mapped[str] = mapped_column(String(30))  # "activation", later invoices, payments...
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[Optional[str]] = mapped_column(String(200))
    # What the sender sends. For a message carrying a secret (an activation
    # code) it is replaced by redacted_body once sent, so the clear code lives
    # only on the customer's phone (the SMS sink stands in for it).
    body: Mapped[str] = mapped_column(Text)
    redacted_body: Mapped[Optional[str]] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus, 10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[Optional[datetime]]

    @property
    def display_body(self) -> str:
        """What staff may see: never a clear code."""
        return self.redacted_body if self.redacted_body is not None else self.body


# --- providers, personal accounts, invoices -----------------------------------

class Provider(Base):
    """A service provider («поставщик услуг») that bills through the cabinet."""

    __tablename__ = "providers"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    inn: Mapped[str] = mapped_column(String(12), unique=True)  # 10 digits (organisation)
    contact_phone: Mapped[str] = mapped_column(String(30))
    service_kind: Mapped[str] = mapped_column(String(30))  # water, heating, electricity, ...
    # The normalised account number (spaces and dashes removed) must match this
    # regular expression whole, e.g. r"\d{10}"; account_hint says it for people.
    account_pattern: Mapped[str] = mapped_column(String(100))
    account_hint: Mapped[str] = mapped_column(String(100))
    invoicing_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    commission_bp: Mapped[int] = mapped_column(Integer, default=0)  # 150 = 1.50 % of the amount
    commission_min: Mapped[int] = mapped_column(Integer, default=0)  # kopecks
    # Binding needs the total of the account's last invoice, as proof of ownership.
    ownership_proof: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class ProviderAccount(Base):
    """A personal account («лицевой счёт») in its provider's register."""

    __tablename__ = "provider_accounts"
    __table_args__ = (UniqueConstraint("provider_id", "number",
                                       name="uq_provider_accounts_number"),
                      # Search by the number alone («Клиенты»: «лицевой счёт»).
                      Index("ix_provider_accounts_number_only", "number"))

    id: Mapped[intpk]
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    number: Mapped[str] = mapped_column(String(30))  # normalised: no spaces or dashes
    address: Mapped[str] = mapped_column(String(300))
    payer_masked: Mapped[str] = mapped_column(String(100))  # «Иванов И. И.» shown as «Ив***в И. И.»
    loaded_at: Mapped[datetime]

    provider: Mapped[Provider] = relationship()


class RegistryFile(Base):
    """A provider's file loaded once: its checksum makes a second load a no-op."""

    __tablename__ = "registry_files"
    __table_args__ = (UniqueConstraint("provider_id", "kind", "sha256",
                                       name="uq_registry_files_checksum"),)

    id: Mapped[intpk]
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    kind: Mapped[str] = mapped_column(String(20))  # "accounts" | "invoices"
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer)  # accounts added or invoices built
    imported_at: Mapped[datetime]
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))


class AccountBinding(Base):
    """A personal account bound to a cabinet under the customer's own name for it."""

    __tablename__ = "account_bindings"
    __table_args__ = (
        Index("uq_account_bindings_active", "customer_id", "provider_account_id", unique=True,
              sqlite_where=text("removed_at IS NULL"),
              postgresql_where=text("removed_at IS NULL")),
        Index("ix_account_bindings_account", "provider_account_id", "removed_at"),
        # The customer card's «Лицевые счета» lists removed bindings too, which the
        # partial unique index above leaves out: without this, a scan of every binding (0032).
        Index("ix_account_bindings_customer", "customer_id", "created_at", "id"),
    )

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    provider_account_id: Mapped[int] = mapped_column(ForeignKey("provider_accounts.id"))
    name: Mapped[str] = mapped_column(String(100))  # e.g. the flat's address
    created_at: Mapped[datetime]
    removed_at: Mapped[Optional[datetime]]  # unbound; the row stays for history

    account: Mapped[ProviderAccount] = relationship()


class OwnershipCheck(Base):
    """Wrong answers to «total of the last invoice» per cabinet and account."""

    __tablename__ = "ownership_checks"
    __table_args__ = (UniqueConstraint("customer_id", "provider_account_id",
                                       name="uq_ownership_checks_pair"),)

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    provider_account_id: Mapped[int] = mapped_column(ForeignKey("provider_accounts.id"))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]]
    updated_at: Mapped[datetime]


class Invoice(Base):
    """A provider's invoice («счёт») for one personal account and one month."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("provider_account_id", "period", name="uq_invoices_account_period"),
        Index("ix_invoices_status_due", "status", "due_date"),
        # The staff list's order (period DESC, id DESC) straight from the index on
        # PostgreSQL too (SQLite's indexes end in the rowid anyway): migration 0029.
        Index("ix_invoices_period_id", "period", "id"),
    )

    id: Mapped[intpk]
    provider_account_id: Mapped[int] = mapped_column(ForeignKey("provider_accounts.id"))
    period: Mapped[date] = mapped_column(Date)  # the first day of the billed month
    total_due: Mapped[int] = mapped_column(Integer)  # kopecks
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[InvoiceStatus] = mapped_column(_enum(InvoiceStatus))
    paid_amount: Mapped[int] = mapped_column(Integer, default=0)  # kopecks, from payments only
    registry_file_id: Mapped[Optional[int]] = mapped_column(ForeignKey("registry_files.id"))
    created_at: Mapped[datetime]

    account: Mapped[ProviderAccount] = relationship()
    lines: Mapped[list["InvoiceLine"]] = relationship(order_by="InvoiceLine.line_no")


class InvoiceLine(Base):
    """One charge line («начисление») of an invoice."""

    __tablename__ = "invoice_lines"
    __table_args__ = (Index("ix_invoice_lines_invoice", "invoice_id", "line_no"),)

    id: Mapped[intpk]
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    service: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(20))
    volume: Mapped[Decimal] = mapped_column(Numeric(14, 3))  # consumed units, not money
    tariff: Mapped[int] = mapped_column(Integer)  # kopecks per unit
    accrued: Mapped[int] = mapped_column(Integer)  # kopecks
    recalculation: Mapped[int] = mapped_column(Integer)  # kopecks, may be negative
    debt: Mapped[int] = mapped_column(Integer)  # kopecks: debt positive, prepayment negative
    total: Mapped[int] = mapped_column(Integer)  # kopecks due for this line


class InvoiceMark(Base):
    """«Отметить как оплаченный»: the customer's own statement, never a payment."""

    __tablename__ = "invoice_marks"
    __table_args__ = (Index("ix_invoice_marks_invoice", "invoice_id", "customer_id"),)

    id: Mapped[intpk]
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    marked_at: Mapped[datetime]
    unmarked_at: Mapped[Optional[datetime]]


class Subscription(Base):
    """Whether a cabinet receives a topic over a channel."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("customer_id", "topic", "channel",
                                       name="uq_subscriptions_cell"),)

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    topic: Mapped[str] = mapped_column(String(30))  # new_invoice | payment_result | news
    channel: Mapped[Channel] = mapped_column(_enum(Channel, 10))
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class SubscriptionCountStat(Base):
    """Active cabinets subscribed to a topic over a channel, out of all active ones, as
    counted at ``computed_at``: a rollup the worker refreshes every minute, so that
    «Подписки и рассылки» reads six rows instead of aggregating every cabinet."""

    __tablename__ = "subscription_count_stats"

    topic: Mapped[str] = mapped_column(String(30), primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, 10), primary_key=True)
    subscribed: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime]


class MessageTemplate(Base):
    """The text of a topic on a channel; placeholders like {amount} are filled per message."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("topic", "channel", name="uq_message_templates_cell"),)

    id: Mapped[intpk]
    topic: Mapped[str] = mapped_column(String(30))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, 10))
    subject: Mapped[Optional[str]] = mapped_column(String(200))  # e-mail only
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by_staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))


# --- payments, cards, refunds, ledger -----------------------------------------
# Status values are the strings of core.payments.machine.PaymentStatus; they are
# kept as plain strings here so the table does not depend on the engine module.

class SavedCard(Base):
    """A card the customer chose to keep: the gateway's token and what may be shown.

    Never the full number, never the CVV.
    """

    __tablename__ = "saved_cards"
    __table_args__ = (Index("ix_saved_cards_customer", "customer_id", "removed_at"),)

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    gateway_token: Mapped[str] = mapped_column(String(64), unique=True)
    brand: Mapped[str] = mapped_column(String(20))  # visa, mastercard, mir
    masked_pan: Mapped[str] = mapped_column(String(19))  # first 6 and last 4: 411111******1111
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    removed_at: Mapped[Optional[datetime]]  # removed by the customer or an agent at their request


class CardBinding(Base):
    """One attempt to bind a card without paying («Способы оплаты»): the acquirer's card
    check, a 1 ₽ hold behind a one-time password, released at once. Never the full number
    or the CVV: the masked number, and the token only once the bank gave one."""

    __tablename__ = "card_bindings"
    __table_args__ = (Index("ix_card_bindings_customer", "customer_id", "created_at"),
                      Index("ix_card_bindings_hold_check", "hold_check_at"))

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # core.payments.card_binding.BindingStatus: started, awaiting_otp, confirming, bound, ...
    status: Mapped[str] = mapped_column(String(20))
    # Ours, random: the bank's idempotency key for the check (ids restart with a new database).
    gateway_key: Mapped[str] = mapped_column(String(64), unique=True)
    gateway_txn_id: Mapped[Optional[str]] = mapped_column(String(64))
    gateway_token: Mapped[Optional[str]] = mapped_column(String(64))  # the card's, from the bank
    brand: Mapped[str] = mapped_column(String(20))
    masked_pan: Mapped[str] = mapped_column(String(19))  # first 6 and last 4: 411111******1111
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    otp_hash: Mapped[Optional[str]] = mapped_column(String(64))  # HMAC of the code, never the code
    otp_created_at: Mapped[Optional[datetime]]
    otp_expires_at: Mapped[Optional[datetime]]
    otp_attempts: Mapped[int] = mapped_column(Integer, default=0)  # wrong entries so far
    otp_used_at: Mapped[Optional[datetime]]
    decline_code: Mapped[Optional[str]] = mapped_column(String(40))
    decline_reason: Mapped[Optional[str]] = mapped_column(String(200))  # Russian, as shown
    saved_card_id: Mapped[Optional[int]] = mapped_column(ForeignKey("saved_cards.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[Optional[datetime]]  # bound, declined, expired or failed
    # The 1 ₽ hold may still be on the card (the bank had the password, no release is
    # known): when the worker asks the bank next. NULL: nothing can be held.
    hold_check_at: Mapped[Optional[datetime]]
    hold_check_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    hold_released_at: Mapped[Optional[datetime]]  # the bank said the hold was released


class Payment(Base):
    """One payment to a provider's personal account, through the acquiring gateway."""

    __tablename__ = "payments"
    # The lists' indexes end in the id, their second sort key: SQLite's end in the rowid
    # anyway, PostgreSQL's would otherwise sort the newest timestamps' rows (0032).
    __table_args__ = (
        Index("ix_payments_status_check", "status", "next_check_at"),
        Index("ix_payments_status_created", "status", "created_at", "id"),  # «Статус» alone
        Index("ix_payments_created", "created_at", "id"),
        Index("ix_payments_customer", "customer_id", "created_at", "id"),
        Index("ix_payments_provider", "provider_id", "created_at", "id"),
        Index("ix_payments_invoice", "invoice_id"),
        # Payouts and reconciliation select a day of final payments.
        Index("ix_payments_finalized", "finalized_at"),
        # «Платежи» by the card's last four digits (what a customer on the phone reads out).
        Index("ix_payments_pan_last4", "pan_last4", "created_at", "id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount",
                        name="refund_within_amount"),
    )

    id: Mapped[intpk]
    # The client's key for this request: a repeat returns this payment, never a new charge.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of what was asked (provider, account, invoice, amount): the same key
    # with a different request is refused.
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    receipt_email: Mapped[Optional[str]] = mapped_column(String(254))  # payments without a cabinet
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    provider_account_id: Mapped[Optional[int]] = mapped_column(ForeignKey("provider_accounts.id"))
    account_number: Mapped[str] = mapped_column(String(30))  # as paid, normalised
    invoice_id: Mapped[Optional[int]] = mapped_column(ForeignKey("invoices.id"))
    amount: Mapped[int] = mapped_column(Integer)  # kopecks to the provider
    commission: Mapped[int] = mapped_column(Integer)  # kopecks kept as the agent's fee
    status: Mapped[str] = mapped_column(String(20))
    saved_card_id: Mapped[Optional[int]] = mapped_column(ForeignKey("saved_cards.id"))
    card_brand: Mapped[Optional[str]] = mapped_column(String(20))
    masked_pan: Mapped[Optional[str]] = mapped_column(String(19))
    # Computed by the database from masked_pan, so every writer (the services, the bulk
    # loaders) gets it for free; a suffix LIKE on masked_pan reads every payment.
    pan_last4: Mapped[Optional[str]] = mapped_column(
        String(4), Computed(PAN_LAST4_SQL, persisted=True))
    gateway_txn_id: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    rrn: Mapped[Optional[str]] = mapped_column(String(12))  # retrieval reference number
    auth_code: Mapped[Optional[str]] = mapped_column(String(12))
    decline_code: Mapped[Optional[str]] = mapped_column(String(30))
    decline_reason: Mapped[Optional[str]] = mapped_column(String(200))  # Russian, for people
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)  # kopecks
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finalized_at: Mapped[Optional[datetime]]
    # Recovery of payments whose outcome is unknown: when to ask the gateway next,
    # how many times it was asked, and whether a person must look at it.
    next_check_at: Mapped[Optional[datetime]]
    check_attempts: Mapped[int] = mapped_column(Integer, default=0)
    manual_review: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic lock for updates


class PaymentEventRecord(Base):
    """Every transition of a payment: when, who, from what to what, and the details."""

    __tablename__ = "payment_events"
    __table_args__ = (Index("ix_payment_events_payment", "payment_id", "at"),)

    id: Mapped[intpk]
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[Optional[str]] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_kind: Mapped[ActorKind] = mapped_column(_enum(ActorKind))
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    details: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)  # never card data


class PaymentOtp(Base):
    """The one-time password of a payment: an HMAC bound to the payment, 5 minutes, 3 tries."""

    __tablename__ = "payment_otps"
    __table_args__ = (Index("ix_payment_otps_payment", "payment_id", "created_at"),)

    id: Mapped[intpk]
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[Optional[datetime]]


class Refund(Base):
    """A refund of (part of) a payment; above a threshold it waits for a second approver."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_payment", "payment_id"),
                      Index("ix_refunds_status_completed", "status", "completed_at"),
                      CheckConstraint("amount > 0", name="amount_positive"))

    id: Mapped[intpk]
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[int] = mapped_column(Integer)  # kopecks
    reason: Mapped[str] = mapped_column(String(500))
    # awaiting_approval (four-eyes), requested (sent or being sent), succeeded, declined,
    # rejected (by the second approver)
    status: Mapped[str] = mapped_column(String(20))
    requested_by_staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    approved_by_staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    review_comment: Mapped[Optional[str]] = mapped_column(String(500))  # the approver's word
    gateway_refund_id: Mapped[Optional[str]] = mapped_column(String(64))
    # The refund's own retrieval reference number (not the payment's): a bank's registry
    # without our transaction id lists the refund under it.
    rrn: Mapped[Optional[str]] = mapped_column(String(12))
    created_at: Mapped[datetime]
    completed_at: Mapped[Optional[datetime]]
    # The retry job's lease on a requested refund whose answer was lost: a worker that
    # repeats it holds it till then, so no other worker repeats it meanwhile.
    next_attempt_at: Mapped[Optional[datetime]]


class Receipt(Base):
    """The receipt of a payment that moved money: its number, where it was sent, and the
    fiscal data (ФН, ФД, ФП) the fiscal register returned under 54-FZ.

    The row is written with the payment's success; the fiscal fields are filled by
    the worker when the register answers (it may be down: ``next_attempt_at``)."""

    __tablename__ = "receipts"
    __table_args__ = (Index("ix_receipts_unfiscalised", "fiscal_document_number",
                            "next_attempt_at"),)

    id: Mapped[intpk]  # the receipt number printed on it
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    operation: Mapped[str] = mapped_column(String(20))  # income («Приход»)
    created_at: Mapped[datetime]
    sent_to: Mapped[Optional[str]] = mapped_column(String(254))  # e-mail or phone
    fiscal_drive_number: Mapped[Optional[str]] = mapped_column(String(16))  # ФН
    fiscal_document_number: Mapped[Optional[int]] = mapped_column(Integer)  # ФД
    fiscal_sign: Mapped[Optional[str]] = mapped_column(String(10))  # ФП
    kkt_registration_number: Mapped[Optional[str]] = mapped_column(String(16))  # РН ККТ
    shift_number: Mapped[Optional[int]] = mapped_column(Integer)
    fiscalised_at: Mapped[Optional[datetime]]
    fiscal_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Optional[datetime]]


class AcquirerSettlement(Base):
    """One day of the acquirer's settlement registry, booked once: what it paid us for the
    day's charges net of refunds (the ledger's settlement journal)."""

    __tablename__ = "acquirer_settlements"

    id: Mapped[intpk]
    day: Mapped[date] = mapped_column(Date, unique=True)  # the registry's Moscow day
    payments_total: Mapped[int] = mapped_column(Integer)  # kopecks charged
    refunds_total: Mapped[int] = mapped_column(Integer)  # kopecks returned
    lines: Mapped[int] = mapped_column(Integer)
    journal_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_journals.id"))
    created_at: Mapped[datetime]


class LedgerJournal(Base):
    """One money movement (payment, commission, refund, settlement, payout); its entries sum to 0."""

    __tablename__ = "ledger_journals"
    __table_args__ = (Index("ix_ledger_journals_at", "at"),
                      Index("ix_ledger_journals_payment", "payment_id"))

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(20))  # payment, refund, settlement, payout, reversal
    at: Mapped[datetime]
    payment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("payments.id"))
    refund_id: Mapped[Optional[int]] = mapped_column(ForeignKey("refunds.id"))
    reverses_journal_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_journals.id"))
    memo: Mapped[Optional[str]] = mapped_column(String(300))


class LedgerEntry(Base):
    """A signed amount on one ledger account. Append-only: corrections are reversals."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account", "account", "provider_id"),
                      Index("ix_ledger_entries_journal", "journal_id"))

    id: Mapped[intpk]
    journal_id: Mapped[int] = mapped_column(ForeignKey("ledger_journals.id"))
    # clearing (money at the acquirer), provider_payable, commission_income, refunds_payable
    account: Mapped[str] = mapped_column(String(30))
    provider_id: Mapped[Optional[int]] = mapped_column(ForeignKey("providers.id"))
    amount: Mapped[int] = mapped_column(Integer)  # kopecks; debit positive, credit negative


# --- finance: reconciliation, payouts; analytics rollups ---------------------

class ReconciliationRun(Base):
    """One reconciliation of the acquirer's registry file with our payments of a period."""

    __tablename__ = "reconciliation_runs"
    # Unique: the same file twice is refused, also when two people upload it at once.
    __table_args__ = (Index("ix_reconciliation_runs_file", "file_sha256", unique=True),
                      Index("ix_reconciliation_runs_content", "content_sha256", unique=True),
                      Index("ix_reconciliation_runs_created", "created_at"))

    id: Mapped[intpk]
    created_at: Mapped[datetime]
    # None: the command line (``python -m core reconcile``), as the journal says.
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))  # the same file is recognised
    # The same lines in another file (CRLF, BOM, XLSX): core.finance.registry_fingerprint.
    # None: a run made before it was kept.
    content_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    period_from: Mapped[date] = mapped_column(Date)  # Moscow days, inclusive
    period_to: Mapped[date] = mapped_column(Date)
    bank_lines: Mapped[int] = mapped_column(Integer)
    bank_total: Mapped[int] = mapped_column(BigInteger)  # kopecks, payments minus refunds
    our_payments: Mapped[int] = mapped_column(Integer)
    our_total: Mapped[int] = mapped_column(BigInteger)
    # Per class: lines and sums on each side ({"matched": {"bank_count":…, …}, …}).
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    closed_at: Mapped[Optional[datetime]]  # every discrepancy resolved; re-opened: None


class ReconciliationMatched(Base):
    """A run's matched pairs (line and payment or refund agree), all in one row.

    Nearly every line of a registry is matched and nobody decides anything about a
    matched pair, so they are not items: their columns are one compressed Arrow file
    (``core.finance.matched_store``); a 1M-line run stored them as 1M item rows before.
    """

    __tablename__ = "reconciliation_matched"

    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id"), primary_key=True)
    pairs: Mapped[int] = mapped_column(Integer)  # rows in ``data``
    layout: Mapped[str] = mapped_column(String(20))  # matched_store.LAYOUT of ``data``
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ReconciliationItem(Base):
    """One discrepancy of a run: a bank line and/or one payment, in exactly one class
    other than «matched» (those are ``ReconciliationMatched``)."""

    __tablename__ = "reconciliation_items"
    # paired_item_id: deleting items checks the items naming them (no full scan each).
    __table_args__ = (Index("ix_reconciliation_items_run", "run_id", "klass"),
                      Index("ix_reconciliation_items_paired", "paired_item_id"))

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id"))
    # missing_at_bank, missing_at_ours, amount_differs, status_differs, duplicate_at_bank
    klass: Mapped[str] = mapped_column(String(20))
    payment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("payments.id"))
    bank_line_no: Mapped[Optional[int]] = mapped_column(Integer)  # 1-based line of the file
    bank_txn_id: Mapped[Optional[str]] = mapped_column(String(64))
    bank_rrn: Mapped[Optional[str]] = mapped_column(String(12))
    bank_operation: Mapped[Optional[str]] = mapped_column(String(10))  # payment, refund
    bank_amount: Mapped[Optional[int]] = mapped_column(BigInteger)  # kopecks
    bank_masked_pan: Mapped[Optional[str]] = mapped_column(String(19))
    bank_time: Mapped[Optional[datetime]]
    our_amount: Mapped[Optional[int]] = mapped_column(BigInteger)  # amount + commission
    our_status: Mapped[Optional[str]] = mapped_column(String(20))
    # The bank's commission and what it pays for the line, as its file lists them (None:
    # the file has none); the fee the profile's tariff gives (None: no tariff to check).
    bank_fee: Mapped[Optional[int]] = mapped_column(BigInteger)
    bank_net: Mapped[Optional[int]] = mapped_column(BigInteger)
    expected_fee: Mapped[Optional[int]] = mapped_column(BigInteger)
    resolved_at: Mapped[Optional[datetime]]
    resolved_by_staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    resolution_comment: Mapped[Optional[str]] = mapped_column(String(1000))
    # What was done (core.finance.resolutions.KINDS); None: resolved before it was asked.
    resolution_kind: Mapped[Optional[str]] = mapped_column(String(20))
    # A «нет у нас» line and a «нет в банке» payment paired by hand name each other.
    paired_item_id: Mapped[Optional[int]] = mapped_column(ForeignKey("reconciliation_items.id"))


class BankProfileRecord(Base):
    """A bank profile finance saved (the shipped ones live in the code, not here)."""

    __tablename__ = "bank_profiles"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(80))  # as typed, for people
    # The name case-folded and unique: «Сбер» and «СБЕР» are one profile (both databases).
    name_key: Mapped[str] = mapped_column(String(80), unique=True)
    # The profile's file form (core.finance.bank_profile.BankProfile.to_dict).
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by_staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime]
    updated_by_staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))


class Payout(Base):
    """What we pay a provider for one Moscow day: its payments minus refunds and
    commission; produced once (the ledger's payout journal)."""

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("provider_id", "day", name="uq_payouts_provider_day"),)

    id: Mapped[intpk]
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    day: Mapped[date] = mapped_column(Date)
    payments_count: Mapped[int] = mapped_column(Integer)
    payments_total: Mapped[int] = mapped_column(BigInteger)  # amounts to the provider
    refunds_total: Mapped[int] = mapped_column(BigInteger)
    commission_total: Mapped[int] = mapped_column(BigInteger)  # kept by the agent
    net_amount: Mapped[int] = mapped_column(BigInteger)  # payable: payments − refunds
    journal_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_journals.id"))
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime]


class PaymentDailyStat(Base):
    """Daily rollup of final payments for analytics, kept up to date as payments finalise
    and refunds happen (rebuildable from the payments table by a command).

    A successful key's counts are spread over ``shard`` rows (the payment's id modulo
    ``core.analytics.rollups.SHARDS``; refusals stay in shard 0): payments confirmed at
    once then add to different rows instead of queueing on one row's lock until each
    other's commit. Readers SUM."""

    __tablename__ = "payment_daily_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # Moscow day of creation
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20), primary_key=True)  # succeeded, declined…
    decline_code: Mapped[str] = mapped_column(String(30), primary_key=True)  # '' if none
    saved_card: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    # Rows written before the shards (and any direct writer that omits it) are shard 0.
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    payments: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # kopecks to providers
    commission: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger)


class InvoiceMonthStat(Base):
    """Invoices of a billed month per provider and outcome (on time, late, overdue,
    open): a snapshot the worker refreshes every few minutes, so that the analytics
    page reads a few hundred rows instead of classifying millions of invoices."""

    __tablename__ = "invoice_month_stats"

    period: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    klass: Mapped[str] = mapped_column(String(10), primary_key=True)  # on_time, late, …
    invoices: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime]

