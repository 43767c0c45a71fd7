"""Saved cards: kept by the payment flow, managed by the customer and, at the customer's
request, by the contact center."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, SavedCard
from core.actors import PermissionDenied, StaffRole
from core.errors import DomainError, NotFound, ValidationError
from core.customers.errors import SessionInvalid
from core.payments import saved_cards
from tests.factories.customers import make_staff, register_and_activate
from tests.factories.payments import make_card
from tests.factories.dbstate import snapshot


def _save(app, customer_id, token="tok_a", masked="411111******1111", **kw):  # type: ignore[no-untyped-def]
    with app.uow() as uow:
        card = saved_cards.save_card(uow.session, customer_id=customer_id, gateway_token=token,
                                     brand=kw.get("brand", "visa"), masked_pan=masked,
                                     exp_month=kw.get("exp_month", 12),
                                     exp_year=kw.get("exp_year", 2030), now=app.now())
        uow.commit()
        return card.id


def _defaults(app, customer_id):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(select(SavedCard.id).where(
            SavedCard.customer_id == customer_id, SavedCard.is_default.is_(True),
            SavedCard.removed_at.is_(None))))


@pytest.fixture
def customer(app):  # type: ignore[no-untyped-def]
    return register_and_activate(app, phone="+79991234567")


# --- save_card ---------------------------------------------------------------------------

def test_first_card_is_default_and_same_token_returns_the_row(app, customer, clock):
    first = _save(app, customer.customer_id, "tok_a")
    clock.advance(minutes=1)
    second = _save(app, customer.customer_id, "tok_b", "553691******4242", brand="mastercard")
    again = _save(app, customer.customer_id, "tok_a", exp_year=2031)
    assert again == first
    assert _defaults(app, customer.customer_id) == [first]
    cards = saved_cards.list_cards(app, customer.session_token)
    assert [(c.id, c.is_default) for c in cards] == [(first, True), (second, False)]
    assert cards[0].expiry_label == "12/31" and cards[1].title == "Mastercard ···· 4242"


def test_saving_a_removed_token_restores_it(app, customer):
    card_id = _save(app, customer.customer_id, "tok_a")
    saved_cards.remove_card(app, customer.session_token, card_id)
    assert saved_cards.list_cards(app, customer.session_token) == []
    assert _save(app, customer.customer_id, "tok_a") == card_id
    cards = saved_cards.list_cards(app, customer.session_token)
    assert [(c.id, c.is_default, c.removed_at) for c in cards] == [(card_id, True, None)]


def test_save_refuses_a_full_number_and_a_foreign_token(app, customer):
    other = register_and_activate(app)
    before = snapshot(app)
    with pytest.raises(ValueError):
        _save(app, customer.customer_id, "tok_x", masked="4111111111111111")
    assert snapshot(app) == before
    _save(app, customer.customer_id, "tok_a")
    with pytest.raises(DomainError, match="другому личному кабинету"):
        _save(app, other.customer_id, "tok_a")


# --- the customer ----------------------------------------------------------------------------

def test_remove_default_passes_default_to_the_newest(app, customer, clock):
    old = make_card(app, customer.customer_id, last4="0001", is_default=True,
                    created_at=app.now() - timedelta(days=3))
    newest = make_card(app, customer.customer_id, last4="0003",
                       created_at=app.now() - timedelta(days=1))
    make_card(app, customer.customer_id, last4="0002", created_at=app.now() - timedelta(days=2))
    saved_cards.remove_card(app, customer.session_token, old)
    cards = saved_cards.list_cards(app, customer.session_token)
    assert [c.masked_pan[-4:] for c in cards] == ["0003", "0002"]
    assert cards[0].id == newest and cards[0].is_default and not cards[1].is_default


def test_make_default(app, customer):
    a = make_card(app, customer.customer_id, last4="0001", is_default=True)
    b = make_card(app, customer.customer_id, last4="0002")
    saved_cards.make_default(app, customer.session_token, b)
    assert _defaults(app, customer.customer_id) == [b]
    assert saved_cards.list_cards(app, customer.session_token)[0].id == b
    assert a != b


def test_cards_of_another_customer_are_not_found(app, customer):
    other = register_and_activate(app)
    theirs = make_card(app, other.customer_id, is_default=True)
    removed = make_card(app, customer.customer_id, removed=True)
    before = snapshot(app)
    for card_id in (theirs, removed, 999_999):
        with pytest.raises(NotFound, match="Карта не найдена"):
            saved_cards.remove_card(app, customer.session_token, card_id)
        with pytest.raises(NotFound, match="Карта не найдена"):
            saved_cards.make_default(app, customer.session_token, card_id)
    assert snapshot(app) == before
    with pytest.raises(SessionInvalid):
        saved_cards.list_cards(app, "bad-token")


def test_only_masked_numbers_leave(app, customer):
    make_card(app, customer.customer_id, is_default=True)
    agent = make_staff(app, StaffRole.AGENT)
    for view in (saved_cards.list_cards(app, customer.session_token)
                 + saved_cards.customer_cards(app, agent, customer.customer_id)):
        assert "gateway_token" not in vars(view) and "tok_" not in repr(view)
        assert view.masked_pan == "411111******1111"


def test_expired_flag(app, customer):
    make_card(app, customer.customer_id, exp_month=10, exp_year=2026)  # clock: 25.11.2026
    make_card(app, customer.customer_id, exp_month=11, exp_year=2026)
    flags = sorted((c.exp_month, c.expired)
                   for c in saved_cards.list_cards(app, customer.session_token))
    assert flags == [(10, True), (11, False)]


# --- staff -------------------------------------------------------------------------------------

def test_staff_lists_cards_including_removed(app, customer):
    finance = make_staff(app, StaffRole.FINANCE)
    make_card(app, customer.customer_id, last4="0001", is_default=True)
    make_card(app, customer.customer_id, last4="0002", removed=True)
    assert [c.masked_pan[-4:] for c in
            saved_cards.customer_cards(app, finance, customer.customer_id)] == ["0001"]
    both = saved_cards.customer_cards(app, finance, customer.customer_id, include_removed=True)
    assert [(c.masked_pan[-4:], c.removed_at is not None) for c in both] == [
        ("0001", False), ("0002", True)]
    manager = make_staff(app, StaffRole.MANAGER)
    with pytest.raises(PermissionDenied):
        saved_cards.customer_cards(app, manager, customer.customer_id)
    with pytest.raises(NotFound, match="Клиент не найден"):
        saved_cards.customer_cards(app, finance, 424242)


def test_agent_removes_a_card_with_a_reason_and_it_is_audited(app, customer, clock):
    agent = make_staff(app, StaffRole.AGENT)
    default = make_card(app, customer.customer_id, last4="0001", is_default=True,
                        created_at=app.now() - timedelta(days=2))
    other = make_card(app, customer.customer_id, last4="0002",
                      created_at=app.now() - timedelta(days=1))
    saved_cards.remove_card_for_customer(app, agent, customer.customer_id, default,
                                         "  Клиент   потерял карту ")
    assert [(c.id, c.is_default) for c in
            saved_cards.customer_cards(app, agent, customer.customer_id)] == [(other, True)]
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "card.remove"))
    assert entry.staff_id == agent.staff_id and entry.customer_id == customer.customer_id
    assert entry.reason == "Клиент потерял карту"
    assert entry.before == {"card_id": default, "card": "411111******0001", "is_default": True}
    assert entry.after == {"removed": True, "default_card": "411111******0002"}


@pytest.mark.parametrize("role, reason, error, message", [
    (StaffRole.AGENT, "   ", ValidationError, "Причина: обязательное поле"),
    (StaffRole.FINANCE, "Просьба клиента", PermissionDenied, "Недостаточно прав"),
    (StaffRole.MANAGER, "Просьба клиента", PermissionDenied, "Недостаточно прав"),
])
def test_staff_removal_refused_changes_nothing(app, customer, role, reason, error, message):
    card = make_card(app, customer.customer_id, is_default=True)
    actor = make_staff(app, role)
    before = snapshot(app)
    with pytest.raises(error, match=message):
        saved_cards.remove_card_for_customer(app, actor, customer.customer_id, card, reason)
    assert snapshot(app) == before


def test_staff_cannot_remove_another_customers_card(app, customer):
    admin = make_staff(app, StaffRole.ADMIN)
    other = register_and_activate(app)
    theirs = make_card(app, other.customer_id, is_default=True)
    before = snapshot(app)
    with pytest.raises(NotFound, match="Карта не найдена"):
        saved_cards.remove_card_for_customer(app, admin, customer.customer_id, theirs,
                                             "Просьба клиента")
    assert snapshot(app) == before
