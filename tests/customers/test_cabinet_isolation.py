"""A cabinet can never see or act on another cabinet's invoice, payment, card, receipt or
bound account, whatever ids it sends: every customer use case that takes an id is tried
with the owner's ids and the stranger's session. Each refusal says «не найден(а)» (an id
that exists elsewhere is not told apart from one that does not exist) and changes nothing."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from core.app import App
from core.billing import accounts, invoices
from core.errors import DomainError
from core.payments import flow, quotes, receipts, saved_cards
from tests.factories.dbstate import snapshot
from tests.factories.payment_flow import Payer, card, last_otp, new_key, pay_invoice, payer


@dataclass(frozen=True)
class Owned:
    """What the owner has: ids the stranger will try."""

    invoice_id: int
    paid_invoice_id: int
    payment_id: int
    pending_payment_id: int
    card_id: int
    binding_id: int


def _owner_with_everything(app: App) -> tuple[Payer, Owned]:
    from datetime import date

    from tests.factories.billing import make_invoice

    owner = payer(app)
    paid = pay_invoice(app, owner, save=True)
    card_id = saved_cards.list_cards(app, owner.token)[0].id
    open_invoice = make_invoice(app, owner.account_id, date(2026, 11, 1), 90_000)
    pending = flow.start_invoice_payment(app, owner.token, open_invoice, new_key())
    binding_id = accounts.list_bindings(app, owner.token)[0].id
    return owner, Owned(open_invoice, owner.invoice_id, paid.id, pending.id, card_id, binding_id)


ATTEMPTS: dict[str, Callable[[App, str, Owned], object]] = {
    "invoice detail": lambda app, t, o: invoices.invoice_detail_for_customer(app, t, o.invoice_id),
    "mark paid": lambda app, t, o: invoices.mark_paid(app, t, o.invoice_id),
    "unmark paid": lambda app, t, o: invoices.unmark_paid(app, t, o.paid_invoice_id),
    "quote": lambda app, t, o: quotes.quote_invoice(app, t, o.invoice_id),
    "pay the invoice": lambda app, t, o: flow.start_invoice_payment(app, t, o.invoice_id,
                                                                   new_key()),
    "payment status": lambda app, t, o: flow.payment_status(app, o.payment_id, token=t),
    "new card for the payment": lambda app, t, o: flow.pay_with_new_card(
        app, o.pending_payment_id, card(), token=t),
    "saved card for the payment": lambda app, t, o: flow.pay_with_saved_card(
        app, t, o.pending_payment_id, o.card_id, "123"),
    "one-time password": lambda app, t, o: flow.confirm_payment(
        app, o.pending_payment_id, "000000", token=t),
    "receipt": lambda app, t, o: receipts.customer_receipt_pdf(app, t, o.payment_id),
    "make the card default": lambda app, t, o: saved_cards.make_default(app, t, o.card_id),
    "remove the card": lambda app, t, o: saved_cards.remove_card(app, t, o.card_id),
    "rename the account": lambda app, t, o: accounts.rename_binding(app, t, o.binding_id,
                                                                   "Моя дача"),
    "unbind the account": lambda app, t, o: accounts.unbind(app, t, o.binding_id),
}


@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_a_stranger_cannot_reach_another_cabinets_things(app, attempt):
    _, owned = _owner_with_everything(app)
    stranger = payer(app)
    before = snapshot(app)
    with pytest.raises(DomainError) as refused:
        ATTEMPTS[attempt](app, stranger.token, owned)
    assert "не найден" in str(refused.value), str(refused.value)
    after = snapshot(app)
    # Only the stranger's session may have been touched (its last activity).
    before.pop("customer_sessions", None)
    after.pop("customer_sessions", None)
    assert after == before


def test_the_stranger_sees_none_of_it_in_its_own_lists(app):
    owner, owned = _owner_with_everything(app)
    stranger = payer(app)
    assert owned.card_id not in {c.id for c in saved_cards.list_cards(app, stranger.token)}
    assert owned.binding_id not in {b.id for b in accounts.list_bindings(app, stranger.token)}
    assert owned.invoice_id not in {i.id for i in invoices.invoices_to_pay(app, stranger.token)}
    assert owned.paid_invoice_id not in {
        i.id for i in invoices.invoice_history(app, stranger.token)}
    # …while the owner's own calls work, so the refusals above are about ownership.
    assert invoices.invoice_detail_for_customer(app, owner.token, owned.invoice_id)
    view = flow.pay_with_saved_card(app, owner.token, owned.pending_payment_id, owned.card_id,
                                    "123")
    view = flow.confirm_payment(app, view.id, last_otp(app, view.id), token=owner.token)
    assert view.status.value == "succeeded"
    assert receipts.customer_receipt_pdf(app, owner.token, owned.payment_id).startswith(b"%PDF")
