"""«Смотреть как клиент»: an agent's or an administrator's read-only session of a
customer's cabinet. The cabinet's reading use cases serve it as they serve the customer;
every acting one refuses it and changes nothing; each opening is journaled."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import select

from core.actors import PermissionDenied, StaffRole
from core.app import App
from core.billing import accounts, invoices
from core.customers import cabinet, cabinet_view, contact_center
from core.customers.errors import CabinetViewLinkInvalid, SessionInvalid, ViewOnlySession
from core.customers.rules import PersonalData
from core.db.models import AuditEntry, CustomerSession
from core.notifications import subscriptions
from core.payments import flow, quotes, read_models, saved_cards
from tests.factories.customers import cabinet_view_token, make_staff
from tests.factories.dbstate import snapshot
from tests.factories.payment_flow import card, new_key, pay_invoice, payer

ACTING: dict[str, Callable[[App, str, int], object]] = {
    "mark paid": lambda app, t, invoice_id: invoices.mark_paid(app, t, invoice_id),
    "pay": lambda app, t, invoice_id: flow.start_invoice_payment(app, t, invoice_id, new_key()),
    "profile": lambda app, t, _: cabinet.update_profile(app, t, PersonalData(surname="Подменов")),
    "subscription": lambda app, t, _: subscriptions.set_subscription(
        app, t, "news", "email", True),
    "remove a card": lambda app, t, _: saved_cards.remove_card(
        app, t, saved_cards.list_cards(app, t)[0].id),
    "self-block": lambda app, t, _: cabinet.block_own_cabinet(app, t, "не нужен"),
}


@pytest.fixture
def customer(app):  # type: ignore[no-untyped-def]
    """A cabinet with a paid invoice, a saved card, and an invoice still to pay."""
    from datetime import date

    from tests.factories.billing import make_invoice

    p = payer(app)
    pay_invoice(app, p, save=True)
    open_invoice = make_invoice(app, p.account_id, date(2026, 11, 1), 90_000)
    return p, open_invoice


def test_the_view_reads_what_the_customer_reads(app, customer):
    p, open_invoice = customer
    agent = make_staff(app, StaffRole.AGENT)
    token = cabinet_view_token(app, agent, p.customer_id)
    assert [i.id for i in invoices.invoices_to_pay(app, token)] == \
        [i.id for i in invoices.invoices_to_pay(app, p.token)] == [open_invoice]
    assert invoices.invoice_detail_for_customer(app, token, open_invoice).invoice.id == open_invoice
    assert len(invoices.invoice_history(app, token)) == 2
    assert quotes.quote_invoice(app, token, open_invoice) == quotes.quote_invoice(
        app, p.token, open_invoice)
    assert [c.masked_pan for c in saved_cards.list_cards(app, token)] == ["411111******1111"]
    assert subscriptions.get_subscriptions(app, token) == subscriptions.get_subscriptions(
        app, p.token)
    assert len(read_models.operations_history(app, token)) == 1
    assert cabinet.current_customer_id(app, token) == p.customer_id  # every page's check
    seen = cabinet.profile(app, token)
    assert seen.viewed_by == f"Сотрудник {agent.login}"  # the banner's name
    assert replace(seen, viewed_by=None) == cabinet.profile(app, p.token)
    assert cabinet.profile(app, p.token).viewed_by is None
    assert [b.id for b in accounts.list_bindings(app, token)] == [
        b.id for b in accounts.list_bindings(app, p.token)]
    with app.uow(write=False) as uow:
        journal = uow.session.execute(select(AuditEntry.staff_id, AuditEntry.customer_id).where(
            AuditEntry.action == "customer.cabinet_view")).all()
    assert journal == [(agent.staff_id, p.customer_id)]


@pytest.mark.parametrize("action", list(ACTING))
def test_the_view_never_acts(app, customer, action):
    p, open_invoice = customer
    admin = make_staff(app, StaffRole.ADMIN)
    token = cabinet_view_token(app, admin, p.customer_id)
    before = snapshot(app)
    with pytest.raises(ViewOnlySession, match="действия в нём недоступны"):
        ACTING[action](app, token, open_invoice)
    after = snapshot(app)
    before.pop("customer_sessions"), after.pop("customer_sessions")  # its last activity
    assert after == before


def test_a_new_card_for_a_payment_is_refused_to_the_view_too(app, customer):
    p, open_invoice = customer
    agent = make_staff(app, StaffRole.AGENT)
    payment = flow.start_invoice_payment(app, p.token, open_invoice, new_key())
    token = cabinet_view_token(app, agent, p.customer_id)
    with pytest.raises(ViewOnlySession):
        flow.pay_with_new_card(app, payment.id, card(), token=token)


def test_a_blocked_cabinet_is_still_shown_to_the_agent(app, customer):
    p, _ = customer
    agent = make_staff(app, StaffRole.AGENT)
    contact_center.block(app, agent, p.customer_id, "Звонок о мошенничестве")
    token = cabinet_view_token(app, agent, p.customer_id)
    assert len(invoices.invoice_history(app, token)) == 2


@pytest.mark.parametrize("role", [StaffRole.FINANCE, StaffRole.MANAGER])
def test_only_agents_and_administrators_may_look(app, customer, role):
    p, _ = customer
    before = snapshot(app)
    with pytest.raises(PermissionDenied):
        cabinet_view.open_cabinet_view(app, make_staff(app, role), p.customer_id)
    after = snapshot(app)
    for table in ("staff_users", "audit_log"):  # the new staff member and its journal row
        before.pop(table), after.pop(table)
    assert after == before


# --- the one-time link from the back office to the cabinet ---------------------------
def test_the_link_opens_the_view_once(app, customer):
    p, _ = customer
    agent = make_staff(app, StaffRole.AGENT)
    link = cabinet_view.open_cabinet_view(app, agent, p.customer_id)
    ticket = link.ticket
    assert link.url == f"{app.settings.cabinet_url}/?view={ticket}"
    assert link.valid_until == app.now() + cabinet_view.HANDOVER_TIME
    with pytest.raises(SessionInvalid):  # the link's ticket is not a session
        cabinet.current_customer_id(app, ticket)
    opened = cabinet_view.enter_cabinet_view(app, ticket)
    assert opened.customer_id == p.customer_id
    assert cabinet.current_customer_id(app, opened.session_token) == p.customer_id
    with pytest.raises(CabinetViewLinkInvalid, match="недействительна или устарела"):
        cabinet_view.enter_cabinet_view(app, ticket)  # from the history, a log, a chat
    assert cabinet.current_customer_id(app, opened.session_token) == p.customer_id


def test_a_late_link_opens_nothing_and_ends_its_session(app, clock, customer):
    p, _ = customer
    ticket = cabinet_view.open_cabinet_view(app, make_staff(app, StaffRole.AGENT),
                                            p.customer_id).ticket
    clock.advance(seconds=cabinet_view.HANDOVER_TIME.total_seconds() + 1)
    with pytest.raises(CabinetViewLinkInvalid):
        cabinet_view.enter_cabinet_view(app, ticket)
    with app.uow(write=False) as uow:
        ended = uow.session.execute(select(CustomerSession.end_reason).where(
            CustomerSession.viewer_staff_id.is_not(None))).scalars().all()
    assert ended == ["link_expired"]


@pytest.mark.parametrize("ticket", ["", "не-тот-билет"])
def test_an_unknown_link_opens_nothing(app, ticket):
    with pytest.raises(CabinetViewLinkInvalid):
        cabinet_view.enter_cabinet_view(app, ticket)


def test_the_customers_own_token_is_no_link(app, customer):
    p, _ = customer
    with pytest.raises(CabinetViewLinkInvalid):
        cabinet_view.enter_cabinet_view(app, p.token)
    assert cabinet.current_customer_id(app, p.token) == p.customer_id
