"""A cabinet with a bound account and an invoice, and helpers to pay through the
real services (the gateway simulator in memory, its OTP delivered by our outbox)."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from core.app import App
from core.db.models import LedgerJournal, OutboxMessage, Payment, PaymentEventRecord, Provider
from core.payments.cards import CardInput
from core.payments import flow
from tests.factories import customers
from tests.factories.billing import add_accounts, bind, make_invoice, make_provider

OK_CARD = "4111 1111 1111 1111"
MIR_CARD = "2200 0000 0000 0004"
DECLINED_CARD = "4000 0000 0000 0002"
INSUFFICIENT_CARD = "4000 0000 0000 9995"
ERROR_CARD = "4000 0000 0000 0119"
TIMEOUT_CHARGED_CARD = "4000 0000 0000 3238"
TIMEOUT_NOT_CHARGED_CARD = "4000 0000 0000 3246"

_keys = itertools.count(1)
_accounts = itertools.count(1)


def new_key() -> str:
    return f"test-key-{next(_keys):06d}"


def card(number: str = OK_CARD, cvv: str = "123") -> CardInput:
    return CardInput(number=number, exp_month=12, exp_year=2030, cvv=cvv, holder="IVAN PETROV")


@dataclass(frozen=True)
class Payer:
    token: str
    customer_id: int
    provider_id: int
    account_number: str
    account_id: int
    invoice_id: int


def payer(app: App, *, total_due: int = 150_000, commission_bp: int = 100,
          commission_min: int = 1_000, provider_id: int | None = None) -> Payer:
    """An activated cabinet with one bound account and its unpaid invoice."""
    if provider_id is None:
        provider_id = make_provider(app)
        with app.uow() as uow:
            provider = uow.session.get(Provider, provider_id)
            assert provider is not None
            provider.commission_bp, provider.commission_min = commission_bp, commission_min
            uow.commit()
    number = f"{7_700_000_000 + next(_accounts)}"
    account_id = add_accounts(app, provider_id, [number])[number]
    login = customers.register_and_activate(app)
    bind(app, login.customer_id, account_id)
    invoice_id = make_invoice(app, account_id, date(2026, 10, 1), total_due)
    return Payer(login.session_token, login.customer_id, provider_id, number, account_id,
                 invoice_id)


def last_otp(app: App, payment_id: int) -> str:
    """The code from the payer's message, read from the outbox before it is sent."""
    with app.uow(write=False) as uow:
        bodies = list(uow.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.topic == "payment_otp")
            .order_by(OutboxMessage.id.desc())))
    for body in bodies:
        match = re.search(rf"платежа № {payment_id} на .*?: (\d{{6}})\.", body)
        if match:
            return match.group(1)
    raise AssertionError(f"no one-time password for payment {payment_id}")


def wrong_otp(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def pay_invoice(app: App, p: Payer, number: str = OK_CARD, *, save: bool = False,
                confirm: bool = True) -> flow.PaymentView:
    """Start, send the card, confirm with the right password (unless ``confirm`` is off)."""
    view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    view = flow.pay_with_new_card(app, view.id, card(number), save_card=save, token=p.token)
    if confirm and view.awaiting_otp:
        view = flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    return view


# --- reading back what a payment left behind ---------------------------------------

def payment_row(app: App, payment_id: int) -> Payment:
    with app.uow(write=False) as uow:
        payment = uow.session.get(Payment, payment_id)
        assert payment is not None
        return payment


def event_rows(app: App, payment_id: int) -> list[tuple[str, str | None, str]]:
    """(event, from, to) of the payment's timeline, oldest first."""
    with app.uow(write=False) as uow:
        return [(e.event, e.from_status, e.to_status) for e in uow.session.scalars(
            select(PaymentEventRecord).where(PaymentEventRecord.payment_id == payment_id)
            .order_by(PaymentEventRecord.id))]


def event_names(app: App, payment_id: int) -> list[str]:
    return [event for event, _, _ in event_rows(app, payment_id)]


def journal_kinds(app: App, payment_id: int) -> list[str]:
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(select(LedgerJournal.kind)
                                        .where(LedgerJournal.payment_id == payment_id)
                                        .order_by(LedgerJournal.id)))
