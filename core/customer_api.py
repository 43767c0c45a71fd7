"""Every use case of a customer, in one place and one argument order: the cabinet's pages
(and any future mobile API) call this module and nothing else of ``core``.

The order is always ``(app, who, ids..., inputs...)``:

- ``who`` proves who is asking: the cabinet's session ``token`` once logged in; for a payment
  made without logging in («Произвольный платёж»), the payment's own idempotency ``key`` (the
  only thing that lets that payer go on with it); nothing before logging in;
- then the ids of what is acted on (invoice, binding, payment, card), positional;
- then what the person typed; options, amounts and keys are keyword-only, so two strings are
  never swapped unnoticed.

The use cases underneath keep their own signatures (the back office and the tests call them);
this module only adapts, adds no rule and opens no transaction of its own. Errors are theirs:
``DomainError`` and its subclasses, each with the Russian message for the screen.
"""
from __future__ import annotations

from datetime import date

from core.billing import accounts, invoices, providers
from core.billing.accounts import BindingInfo
from core.billing.invoices import InvoiceDetail, InvoiceRow
from core.billing.providers import ProviderInfo
from core.customers import activation_resume, agreement, cabinet, cabinet_view
from core.customers.activation_resume import PendingActivation
from core.customers.agreement import Agreement
from core.customers.cabinet import CustomerLogin, Profile, Registration
from core.customers.captcha import CaptchaChallenge
from core.customers.errors import NotActivated
from core.customers.rules import PersonalData
from core.app import App
from core.errors import DomainError
from core.money import Money
from core.notifications import subscriptions as subs
from core.notifications.channels import Channel
from core.notifications.subscriptions import SubscriptionMatrix
from core.payments import card_binding, flow, quotes, read_models, receipts, saved_cards
from core.payments.card_binding import CardBindingView
from core.payments.cards import CardInput
from core.payments.flow import PaymentView
from core.payments.machine import PaymentStatus
from core.payments.quotes import AccountChoice, PaymentQuote
from core.payments.read_models import Operation
from core.payments.saved_cards import CardView

__all__ = [
    # the values pages pass in and get back, and the one refusal a page tells apart
    "Agreement", "AccountChoice", "BindingInfo", "CaptchaChallenge", "CardBindingView", "CardInput",
    "CardView", "Channel",
    "CustomerLogin", "DomainError", "InvoiceDetail", "InvoiceRow", "Money", "NotActivated",
    "Operation", "PaymentQuote", "PaymentStatus", "PaymentView", "PendingActivation",
    "PersonalData", "Profile", "ProviderInfo", "Registration", "SubscriptionMatrix",
    # before logging in
    "user_agreement", "new_captcha", "register", "resend_activation_code", "activate", "login",
    "resume_activation",
    # «Произвольный платёж» without logging in
    "payment_providers", "choose_account", "quote_amount", "start_guest_payment",
    "guest_pay_with_new_card", "guest_confirm_payment", "guest_payment_status",
    # the session and «Настройки»
    "enter_cabinet_view", "current_customer_id", "logout", "profile", "update_profile", "change_password",
    "change_code_word", "block_own_cabinet", "subscriptions", "set_subscription",
    # «Управление счетами»
    "providers_for_binding", "list_bindings", "bind_account", "rename_binding", "unbind",
    # «Счета к оплате»
    "invoices_to_pay", "invoice_history", "invoice_detail", "mark_paid", "unmark_paid",
    # «Оплата»
    "quote_invoice", "start_invoice_payment", "start_account_payment", "pay_with_new_card",
    "pay_with_saved_card", "confirm_payment", "payment_status",
    # «История операций»
    "operations_history", "receipt_pdf",
    # «Способы оплаты»
    "list_cards", "make_default_card", "remove_card", "start_card_binding",
    "confirm_card_binding",
]


# --- before logging in ------------------------------------------------------------

def user_agreement(app: App) -> Agreement:
    """The agreement the form shows; ``register`` records its version."""
    return agreement.current_agreement()


def new_captcha(app: App) -> CaptchaChallenge:
    return cabinet.new_captcha(app)


def register(app: App, form: Registration) -> int:
    """The new cabinet's id (it waits for the SMS code)."""
    return cabinet.register(app, form)


def resend_activation_code(app: App, customer_id: int) -> None:
    cabinet.request_activation_code(app, customer_id)


def activate(app: App, customer_id: int, code: str) -> CustomerLogin:
    return cabinet.activate(app, customer_id, code)


def login(app: App, login_name: str, password: str) -> CustomerLogin:
    return cabinet.login(app, login_name, password)


def resume_activation(app: App, login_name: str, password: str) -> PendingActivation:
    """After ``login`` answered ``NotActivated``: a fresh SMS code and the cabinet's id for
    ``activate``, for the customer who lost the page before typing the code."""
    return activation_resume.resume_activation(app, login_name, password)


# --- «Произвольный платёж» without logging in (``key``: the payment's idempotency key) ---

def payment_providers(app: App) -> list[ProviderInfo]:
    return providers.list_providers(app)


def choose_account(app: App, provider_id: int, account_number: str) -> AccountChoice:
    return quotes.choose_account(app, provider_id, account_number)


def quote_amount(app: App, provider_id: int, amount_text: str) -> Money:
    """The commission for a typed amount."""
    return quotes.quote_amount(app, provider_id, amount_text)


def start_guest_payment(app: App, key: str, provider_id: int, account_number: str, *,
                        receipt_email: str, amount_text: str | None = None,
                        pay_last_invoice: bool = False) -> PaymentView:
    return flow.start_account_payment(
        app, provider_id=provider_id, account_number=account_number, idempotency_key=key,
        amount_text=amount_text, pay_last_invoice=pay_last_invoice, receipt_email=receipt_email)


def guest_pay_with_new_card(app: App, key: str, payment_id: int, card: CardInput) -> PaymentView:
    return flow.pay_with_new_card(app, payment_id, card, key=key)


def guest_confirm_payment(app: App, key: str, payment_id: int, code: str) -> PaymentView:
    return flow.confirm_payment(app, payment_id, code, key=key)


def guest_payment_status(app: App, key: str, payment_id: int) -> PaymentView:
    return flow.payment_status(app, payment_id, key=key)


# --- the session and «Настройки» -----------------------------------------------------

def enter_cabinet_view(app: App, ticket: str) -> CustomerLogin:
    """«Смотреть как клиент»: the back office's one-time link becomes a read-only session
    (``Profile.viewed_by`` names who looks)."""
    return cabinet_view.enter_cabinet_view(app, ticket)


def current_customer_id(app: App, token: str) -> int:
    """Every page's check: the customer, or ``SessionInvalid`` saying why to log in again."""
    return cabinet.current_customer_id(app, token)


def logout(app: App, token: str) -> None:
    cabinet.logout(app, token)


def profile(app: App, token: str) -> Profile:
    """«Личные данные» as stored."""
    return cabinet.profile(app, token)


def update_profile(app: App, token: str, data: PersonalData) -> None:
    cabinet.update_profile(app, token, data)


def change_password(app: App, token: str, old_password: str, new_password: str) -> str:
    """The new session token: every other session of the cabinet has ended."""
    return cabinet.change_password(app, token, old_password, new_password)


def change_code_word(app: App, token: str, password: str, new_code_word: str) -> None:
    cabinet.change_code_word(app, token, password, new_code_word)


def block_own_cabinet(app: App, token: str, reason: str) -> None:
    cabinet.block_own_cabinet(app, token, reason)


def subscriptions(app: App, token: str) -> SubscriptionMatrix:
    return subs.get_subscriptions(app, token)


def set_subscription(app: App, token: str, topic: str, channel: Channel | str, *,
                     enabled: bool) -> bool:
    """False when nothing changed."""
    return subs.set_subscription(app, token, topic, channel, enabled)


# --- «Управление счетами» -------------------------------------------------------------

def providers_for_binding(app: App) -> list[ProviderInfo]:
    return accounts.providers_for_binding(app)


def list_bindings(app: App, token: str) -> list[BindingInfo]:
    return accounts.list_bindings(app, token)


def bind_account(app: App, token: str, provider_id: int, number: str, name: str, *,
                 last_invoice_total: str | None = None) -> int:
    """The new binding's id; ``last_invoice_total`` where the provider asks for proof."""
    return accounts.bind_account(app, token, provider_id, number, name, last_invoice_total)


def rename_binding(app: App, token: str, binding_id: int, name: str) -> None:
    accounts.rename_binding(app, token, binding_id, name)


def unbind(app: App, token: str, binding_id: int) -> None:
    accounts.unbind(app, token, binding_id)


# --- «Счета к оплате» -----------------------------------------------------------------

def invoices_to_pay(app: App, token: str) -> list[InvoiceRow]:
    return invoices.invoices_to_pay(app, token)


def invoice_history(app: App, token: str) -> list[InvoiceRow]:
    """The tab «Все»."""
    return invoices.invoice_history(app, token)


def invoice_detail(app: App, token: str, invoice_id: int) -> InvoiceDetail:
    return invoices.invoice_detail_for_customer(app, token, invoice_id)


def mark_paid(app: App, token: str, invoice_id: int) -> None:
    invoices.mark_paid(app, token, invoice_id)


def unmark_paid(app: App, token: str, invoice_id: int) -> None:
    invoices.unmark_paid(app, token, invoice_id)


# --- «Оплата» --------------------------------------------------------------------------

def quote_invoice(app: App, token: str, invoice_id: int) -> PaymentQuote:
    """The breakdown before «Далее»."""
    return quotes.quote_invoice(app, token, invoice_id)


def start_invoice_payment(app: App, token: str, invoice_id: int, *,
                          idempotency_key: str) -> PaymentView:
    return flow.start_invoice_payment(app, token, invoice_id, idempotency_key)


def start_account_payment(app: App, token: str, provider_id: int, account_number: str, *,
                          idempotency_key: str, amount_text: str | None = None,
                          pay_last_invoice: bool = False) -> PaymentView:
    """«Произвольный платёж» from a logged-in cabinet (the receipt goes to its e-mail)."""
    return flow.start_account_payment(
        app, provider_id=provider_id, account_number=account_number,
        idempotency_key=idempotency_key, amount_text=amount_text,
        pay_last_invoice=pay_last_invoice, token=token)


def pay_with_new_card(app: App, token: str, payment_id: int, card: CardInput, *,
                      save_card: bool = False) -> PaymentView:
    return flow.pay_with_new_card(app, payment_id, card, save_card=save_card, token=token)


def pay_with_saved_card(app: App, token: str, payment_id: int, card_id: int, *,
                        cvv: str) -> PaymentView:
    return flow.pay_with_saved_card(app, token, payment_id, card_id, cvv)


def confirm_payment(app: App, token: str, payment_id: int, code: str) -> PaymentView:
    """The one-time password."""
    return flow.confirm_payment(app, payment_id, code, token=token)


def payment_status(app: App, token: str, payment_id: int) -> PaymentView:
    """What the result page polls until the status is final."""
    return flow.payment_status(app, payment_id, token=token)


# --- «История операций» ---------------------------------------------------------------

def operations_history(app: App, token: str, *, date_from: date | None = None,
                       date_to: date | None = None,
                       account_number: str | None = None) -> list[Operation]:
    return read_models.operations_history(app, token, date_from, date_to, account_number)


def receipt_pdf(app: App, token: str, payment_id: int) -> bytes:
    """«Сохранить квитанцию»."""
    return receipts.customer_receipt_pdf(app, token, payment_id)


# --- «Способы оплаты» -----------------------------------------------------------------

def list_cards(app: App, token: str) -> list[CardView]:
    return saved_cards.list_cards(app, token)


def make_default_card(app: App, token: str, card_id: int) -> None:
    saved_cards.make_default(app, token, card_id)


def remove_card(app: App, token: str, card_id: int) -> None:
    saved_cards.remove_card(app, token, card_id)


def start_card_binding(app: App, token: str, card: CardInput) -> CardBindingView:
    """«Добавить карту» without paying: the bank holds 1 ₽ behind a one-time password."""
    return card_binding.start_card_binding(app, token, card)


def confirm_card_binding(app: App, token: str, binding_id: int, code: str) -> CardView:
    """The password from the SMS: the hold is released and the card is saved."""
    return card_binding.confirm_card_binding(app, token, binding_id, code)
