"""What a payment will cost before it exists: the invoice's breakdown, the amount,
the provider's commission and the total (seed section 3, the steps before «ОПЛАТИТЬ»)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from core.app import App
from core.db.models import AccountBinding, Invoice, Provider, ProviderAccount
from core.billing.account_rules import AccountNotInRegister, normalize_account_number
from core.errors import NotFound
from core.money import Money
from core.payments.amounts import commission, parse_payment_amount
from core.billing import invoices
from core.customers.sessions import signed_in_customer
from core.timefmt import moscow_date


@dataclass(frozen=True)
class PaymentQuote:
    provider_id: int
    provider_name: str
    account_number: str
    provider_account_id: int | None
    invoice_id: int | None
    period: date | None
    lines: list[invoices.InvoiceLineView]  # the invoice's breakdown; empty for a free amount
    amount: Money  # to the provider
    commission: Money
    commission_bp: int

    @property
    def total(self) -> Money:
        """What the card is charged."""
        return self.amount + self.commission


@dataclass(frozen=True)
class AccountChoice:
    """The second step of an arbitrary payment: pay the last invoice, or any amount."""

    provider_id: int
    provider_name: str
    account_number: str
    provider_account_id: int | None
    last_invoice: PaymentQuote | None  # «Счёт на сумму …»; None when nothing is due


def provider(s: Session, provider_id: int) -> Provider:
    try:
        found = s.get(Provider, int(provider_id))
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound("Поставщик услуг не найден")
    return found


def remaining(invoice: Invoice) -> int:
    """What is still due on the invoice, kopecks (0 when paid or in advance)."""
    return max(invoice.total_due - invoice.paid_amount, 0)


def invoice_quote(s: Session, invoice: Invoice, prov: Provider, number: str) -> PaymentQuote:
    amount = Money(remaining(invoice))
    return PaymentQuote(
        provider_id=prov.id, provider_name=prov.name, account_number=number,
        provider_account_id=invoice.provider_account_id, invoice_id=invoice.id,
        period=invoice.period, lines=invoices.invoice_lines(s, invoice.id), amount=amount,
        commission=commission(amount, prov.commission_bp, prov.commission_min),
        commission_bp=prov.commission_bp)


def customer_invoice(s: Session, customer_id: int, invoice_id: int,
                     today: date) -> tuple[Invoice, str]:
    """An invoice of one of the cabinet's bound accounts, with its account number."""
    row = invoices.customer_invoice_row(s, customer_id, invoice_id, today)
    invoice = s.get(Invoice, row.id)
    assert invoice is not None
    return invoice, row.account_number


# Built once (binding the ids at execution): they run on every payment's creation.
_CUSTOMER_INVOICE = (
    select(Invoice, ProviderAccount.number, Provider)
    .join(ProviderAccount, ProviderAccount.id == Invoice.provider_account_id)
    .join(Provider, Provider.id == ProviderAccount.provider_id)
    .join(AccountBinding, and_(AccountBinding.provider_account_id == ProviderAccount.id,
                               AccountBinding.customer_id == bindparam("customer_id"),
                               AccountBinding.removed_at.is_(None)))
    .where(Invoice.id == bindparam("invoice_id")))
_LOCK_INVOICE = (select(Invoice).where(Invoice.id == bindparam("invoice_id")).with_for_update()
                 .execution_options(populate_existing=True))


def customer_invoice_for_payment(s: Session, customer_id: int,
                                 invoice_id: int) -> tuple[Invoice, str, Provider]:
    """An invoice of one of the cabinet's bound accounts, with its account number and
    provider: the authorisation and what a payment needs in one round trip."""
    found = s.execute(_CUSTOMER_INVOICE, {"customer_id": customer_id,
                                          "invoice_id": invoice_id}).first()
    if found is None:  # also an invoice of an account this cabinet has not bound
        raise NotFound("Счёт не найден")
    invoice, number, prov = found
    return invoice, number, prov


def lock_invoice(s: Session, invoice_id: int) -> Invoice:
    """The invoice's row, locked and read afresh (what is paid may have changed)."""
    invoice = s.scalar(_LOCK_INVOICE, {"invoice_id": invoice_id})
    assert invoice is not None
    return invoice


def quote_invoice(app: App, token: str, invoice_id: int) -> PaymentQuote:
    """«ОПЛАТИТЬ» on an invoice: its breakdown, what is left to pay, commission, total."""
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, app.now(), reading=True)
        invoice, number = customer_invoice(s, customer.id, invoice_id, moscow_date(app.now()))
        quote = invoice_quote(s, invoice, provider(s, invoice_quote_provider(s, invoice)),
                              number)
        uow.commit()
    return quote


def invoice_quote_provider(s: Session, invoice: Invoice) -> int:
    account = s.get(ProviderAccount, invoice.provider_account_id)
    assert account is not None
    return account.provider_id


def register_account(s: Session, prov: Provider, number: str) -> tuple[str, ProviderAccount]:
    """The account number normalised by the provider's rule, and its register row."""
    normalised = normalize_account_number(number, prov.account_pattern, prov.account_hint)
    account = s.scalar(select(ProviderAccount).where(ProviderAccount.provider_id == prov.id,
                                                     ProviderAccount.number == normalised))
    if account is None:
        raise AccountNotInRegister(prov.name)
    return normalised, account


def last_invoice(s: Session, account_id: int) -> Invoice | None:
    return s.scalar(select(Invoice).where(Invoice.provider_account_id == account_id)
                    .order_by(Invoice.period.desc(), Invoice.id.desc()).limit(1))


def choose_account(app: App, provider_id: int, account_number: str) -> AccountChoice:
    """Arbitrary payment, step 2: the account is checked against the provider's register;
    if its last invoice still has something due it is offered with its breakdown."""
    with app.uow(write=False) as uow:
        s = uow.session
        prov = provider(s, provider_id)
        number, account = register_account(s, prov, account_number)
        invoice = last_invoice(s, account.id)
        quote = (invoice_quote(s, invoice, prov, number)
                 if invoice is not None and remaining(invoice) > 0 else None)
    return AccountChoice(prov.id, prov.name, number, account.id, quote)


def quote_amount(app: App, provider_id: int, amount_text: str) -> Money:
    """The commission for a typed amount (the screen shows it before «ДАЛЕЕ»)."""
    with app.uow(write=False) as uow:
        prov = provider(uow.session, provider_id)
    amount = parse_payment_amount(amount_text, maximum=Money(app.settings.payment_max_kopecks))
    return commission(amount, prov.commission_bp, prov.commission_min)
