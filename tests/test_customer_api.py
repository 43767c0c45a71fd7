"""The customer's facade (``core.customer_api``): every customer use case in one place, in one
argument order, calling through to the use cases themselves."""
from __future__ import annotations

import inspect
from datetime import date

import pytest

from core import customer_api as api
from core.customers.errors import SessionInvalid
from core.payments.machine import PaymentStatus
from tests.factories import customers
from tests.factories.billing import add_accounts, make_invoice, make_provider
from tests.factories.payment_flow import card, last_otp, new_key

# What needs no session: before logging in, and the lists of providers anyone may read.
NO_TOKEN = {"user_agreement", "new_captcha", "register", "resend_activation_code", "activate", "login",
            "resume_activation", "payment_providers", "choose_account", "quote_amount",
            "providers_for_binding"}
GUEST = {"start_guest_payment", "guest_pay_with_new_card", "guest_confirm_payment",
         "guest_payment_status"}
LOGGED_IN = {
    "current_customer_id", "logout", "profile", "update_profile", "change_password",
    "change_code_word",
    "block_own_cabinet", "subscriptions", "set_subscription", "list_bindings", "bind_account",
    "rename_binding", "unbind", "invoices_to_pay", "invoice_history", "invoice_detail",
    "mark_paid", "unmark_paid", "quote_invoice",
    "start_invoice_payment", "start_account_payment", "pay_with_new_card",
    "pay_with_saved_card", "confirm_payment", "payment_status", "operations_history",
    "receipt_pdf", "list_cards", "make_default_card", "remove_card", "start_card_binding",
    "confirm_card_binding"}


# «Смотреть как клиент»: the back office's one-time link becomes a read-only session.
STAFF_LINK = {"enter_cabinet_view"}


def _functions() -> set[str]:
    return {name for name in api.__all__ if inspect.isfunction(getattr(api, name))}


def test_the_facade_offers_every_customer_use_case_and_nothing_unlisted():
    assert _functions() == NO_TOKEN | GUEST | LOGGED_IN | STAFF_LINK
    assert all(hasattr(api, name) for name in api.__all__)


@pytest.mark.parametrize("name", sorted(LOGGED_IN))
def test_a_logged_in_use_case_takes_the_app_then_the_session_token(name):
    params = list(inspect.signature(getattr(api, name)).parameters)
    assert params[:2] == ["app", "token"]


@pytest.mark.parametrize("name", sorted(GUEST))
def test_a_guest_payment_step_takes_the_app_then_the_payments_key(name):
    params = list(inspect.signature(getattr(api, name)).parameters)
    assert params[:2] == ["app", "key"]


@pytest.mark.parametrize("name", sorted(_functions()))
def test_ids_come_before_what_is_typed(name):
    """Every ``…_id`` parameter comes right after ``app`` and the token or key."""
    params = list(inspect.signature(getattr(api, name)).parameters)
    rest = [p for p in params if p not in ("app", "token", "key")]
    ids = [p for p in rest if p.endswith("_id")]
    assert rest[:len(ids)] == ids


def test_a_customer_goes_from_registration_to_a_paid_invoice_through_the_facade(app, clock):
    provider_id = make_provider(app)
    account_id = add_accounts(app, provider_id, ["1234567890"])["1234567890"]
    invoice_id = make_invoice(app, account_id, date(2026, 10, 1), 150_000)
    form = customers.registration(email="facade@example.ru")

    customer_id = api.register(app, form)
    clock.advance(minutes=2)
    api.resend_activation_code(app, customer_id)
    first = api.activate(app, customer_id, customers.sms_codes(app)[-1])
    api.logout(app, first.session_token)
    with pytest.raises(SessionInvalid):
        api.current_customer_id(app, first.session_token)
    token = api.login(app, "facade@example.ru", customers.PASSWORD).session_token
    assert api.current_customer_id(app, token) == customer_id

    assert [p.id for p in api.providers_for_binding(app)] == [provider_id]
    binding_id = api.bind_account(app, token, provider_id, "1234567890", "Квартира")
    assert [(b.id, b.name) for b in api.list_bindings(app, token)] == [(binding_id, "Квартира")]
    assert [row.id for row in api.invoices_to_pay(app, token)] == [invoice_id]
    assert api.quote_invoice(app, token, invoice_id).amount.kopecks == 150_000

    view = api.start_invoice_payment(app, token, invoice_id, idempotency_key=new_key())
    view = api.pay_with_new_card(app, token, view.id, card(), save_card=True)
    assert view.awaiting_otp
    view = api.confirm_payment(app, token, view.id, last_otp(app, view.id))
    assert api.payment_status(app, token, view.id).status is PaymentStatus.SUCCEEDED
    assert api.invoices_to_pay(app, token) == []
    assert [op.id for op in api.operations_history(app, token)] == [view.id]
    assert api.receipt_pdf(app, token, view.id).startswith(b"%PDF")

    # Again with the card saved by that payment: only its CVV.
    (saved,) = api.list_cards(app, token)
    again = api.start_account_payment(app, token, provider_id, "1234567890",
                                      idempotency_key=new_key(), amount_text="100")
    again = api.pay_with_saved_card(app, token, again.id, saved.id, cvv="123")
    again = api.confirm_payment(app, token, again.id, last_otp(app, again.id))
    assert again.status is PaymentStatus.SUCCEEDED


def test_a_guest_pays_any_account_through_the_facade_with_the_payments_key(app):
    provider_id = make_provider(app)
    add_accounts(app, provider_id, ["1234567890"])
    assert api.choose_account(app, provider_id, "1234567890").last_invoice is None
    key = new_key()
    view = api.start_guest_payment(app, key, provider_id, "1234567890",
                                   receipt_email="guest@example.ru", amount_text="250")
    view = api.guest_pay_with_new_card(app, key, view.id, card())
    view = api.guest_confirm_payment(app, key, view.id, last_otp(app, view.id))
    assert api.guest_payment_status(app, key, view.id).status is PaymentStatus.SUCCEEDED


def test_a_card_is_added_in_settings_without_paying_through_the_facade(app):
    from tests.factories.customers import register_and_activate
    from tests.payments.test_card_binding import binding_otp

    token = register_and_activate(app).session_token
    started = api.start_card_binding(app, token, card("5555 5555 5555 4444"))
    assert started.awaiting_otp, started
    saved = api.confirm_card_binding(app, token, started.id, binding_otp(app, "4444"))
    assert [(c.id, c.is_default) for c in api.list_cards(app, token)] == [(saved.id, True)]
    assert api.operations_history(app, token) == []  # nothing was paid
