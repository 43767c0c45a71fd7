"""Saved cards («привязанные карты»): kept by the payment flow, listed, removed and made
default by the customer, listed and removed at the customer's request by staff.

Only the gateway's token, the brand, the expiry and the masked number are stored; only
the masked number ever leaves this module (``CardView`` has no token).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import StaffActor, require_role
from core.app import App
from core.payments import cards
from core.db.models import SavedCard
from core.customers.rules import clean_reason
from core.errors import DomainError, NotFound
from core.staff import audit, permissions
from core.customers.lifecycle import get_customer
from core.customers.sessions import signed_in_customer
from core.timefmt import MOSCOW, as_utc

VIEWERS = permissions.PERSONAL_DATA_READERS
REMOVERS = permissions.CABINET_ACTORS
# Stored and shown: first 6 and last 4 digits, the rest starred.
_MASK = re.compile(r"[0-9]{6}\*{3,9}[0-9]{4}")


class CardNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Карта не найдена")


@dataclass(frozen=True)
class CardView:
    id: int
    brand: str
    masked_pan: str  # 411111******1111
    exp_month: int
    exp_year: int
    is_default: bool
    created_at: datetime
    removed_at: datetime | None
    expired: bool  # the expiry month has passed (Moscow time)

    @property
    def brand_label(self) -> str:
        return cards.brand_label(self.brand)

    @property
    def expiry_label(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year % 100:02d}"

    @property
    def title(self) -> str:
        """«Visa ···· 1111»: how a card is named in lists and confirmations."""
        return f"{self.brand_label} ···· {self.masked_pan[-4:]}"


def _view(card: SavedCard, now: datetime) -> CardView:
    today = as_utc(now).astimezone(MOSCOW).date()
    return CardView(id=card.id, brand=card.brand, masked_pan=card.masked_pan,
                    exp_month=card.exp_month, exp_year=card.exp_year,
                    is_default=bool(card.is_default), created_at=card.created_at,
                    removed_at=card.removed_at,
                    expired=(card.exp_year, card.exp_month) < (today.year, today.month))


def _active(session: Session, customer_id: int) -> list[SavedCard]:
    """The cabinet's cards not removed, newest first."""
    return list(session.scalars(select(SavedCard)
                                .where(SavedCard.customer_id == customer_id,
                                       SavedCard.removed_at.is_(None))
                                .order_by(SavedCard.created_at.desc(), SavedCard.id.desc())))


def active_cards(session: Session, customer_id: int) -> list[SavedCard]:
    """The cabinet's cards not removed, newest first (inside the caller's transaction)."""
    return _active(session, customer_id)


def card_view(card: SavedCard, now: datetime) -> CardView:
    return _view(card, now)


def _ensure_default(session: Session, customer_id: int) -> None:
    """Exactly one active card is default when there are any: keep the current one,
    else the newest card takes it."""
    cards = _active(session, customer_id)
    defaults = [c for c in cards if c.is_default]
    if cards and not defaults:
        cards[0].is_default = True
    for extra in defaults[1:]:
        extra.is_default = False
    session.flush()


# --- called by the payment flow -------------------------------------------------------

def save_card(session: Session, *, customer_id: int, gateway_token: str, brand: str,
              masked_pan: str, exp_month: int, exp_year: int, now: datetime) -> SavedCard:
    """Keep a card the customer paid with and chose to save (inside the caller's transaction).

    The same token twice returns the existing row (restored if it was removed); the
    cabinet's first active card becomes its default.
    """
    if not _MASK.fullmatch(masked_pan or ""):
        # A programming error, never user input: refuse rather than store a full number.
        raise ValueError("masked_pan must be the masked number (first 6, last 4)")
    if not gateway_token:
        raise ValueError("gateway_token is required")
    existing = session.scalar(select(SavedCard).where(SavedCard.gateway_token == gateway_token))
    if existing is not None:
        if existing.customer_id != customer_id:
            raise DomainError("Карта привязана к другому личному кабинету")
        if existing.removed_at is not None:
            existing.removed_at = None
            existing.is_default = False
        existing.brand, existing.masked_pan = brand, masked_pan
        existing.exp_month, existing.exp_year = exp_month, exp_year
        session.flush()
        _ensure_default(session, customer_id)
        return existing
    has_active = bool(_active(session, customer_id))
    card = SavedCard(customer_id=customer_id, gateway_token=gateway_token, brand=brand,
                     masked_pan=masked_pan, exp_month=exp_month, exp_year=exp_year,
                     is_default=not has_active, created_at=now, removed_at=None)
    session.add(card)
    session.flush()
    return card


# --- the customer ---------------------------------------------------------------------

def _own_card(session: Session, customer_id: int, card_id: int) -> SavedCard:
    card = session.get(SavedCard, card_id)
    if card is None or card.customer_id != customer_id or card.removed_at is not None:
        raise CardNotFound()
    return card


def _remove(session: Session, card: SavedCard, now: datetime) -> None:
    card.removed_at, card.is_default = now, False
    session.flush()
    _ensure_default(session, card.customer_id)


def list_cards(app: App, token: str) -> list[CardView]:
    """«Привязанные карты»: the default one first, then the newest."""
    now = app.now()
    with app.uow() as uow:
        customer = signed_in_customer(uow.session, token, now, reading=True)
        cards = sorted(_active(uow.session, customer.id), key=lambda c: not c.is_default)
        views = [_view(c, now) for c in cards]
        uow.commit()
    return views


def remove_card(app: App, token: str, card_id: int) -> None:
    """«Удалить карту»: if it was the default, the newest remaining card takes over."""
    now = app.now()
    with app.uow() as uow:
        customer = signed_in_customer(uow.session, token, now)
        card = _own_card(uow.session, customer.id, card_id)
        _remove(uow.session, card, now)
        uow.commit()


def make_default(app: App, token: str, card_id: int) -> None:
    """«Сделать основной»."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        card = _own_card(s, customer.id, card_id)
        for other in _active(s, customer.id):
            other.is_default = other.id == card.id
        uow.commit()


# --- staff ----------------------------------------------------------------------------

def customer_cards(app: App, actor: StaffActor, customer_id: int,
                   include_removed: bool = False) -> list[CardView]:
    """The customer card's «Карты» tab: masked numbers only."""
    require_role(actor, VIEWERS, "карты клиента")
    now = app.now()
    with app.uow(write=False) as uow:
        s = uow.session
        get_customer(s, customer_id)
        query = select(SavedCard).where(SavedCard.customer_id == customer_id)
        if not include_removed:
            query = query.where(SavedCard.removed_at.is_(None))
        cards = list(s.scalars(query.order_by(SavedCard.created_at.desc(),
                                              SavedCard.id.desc())))
        cards.sort(key=lambda c: (c.removed_at is not None, not c.is_default))
        return [_view(c, now) for c in cards]


def remove_card_for_customer(app: App, actor: StaffActor, customer_id: int, card_id: int,
                             reason: str) -> None:
    """«Удалить карту» at the customer's request (contact center); audited with the reason."""
    require_role(actor, REMOVERS, "удаление карты клиента")
    reason = clean_reason(reason)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        get_customer(s, customer_id)
        card = _own_card(s, customer_id, card_id)
        before = {"card_id": card.id, "card": card.masked_pan, "is_default": card.is_default}
        _remove(s, card, now)
        new_default = next((c for c in _active(s, customer_id) if c.is_default), None)
        audit.record(s, at=now, action="card.remove", actor=actor, customer_id=customer_id,
                     reason=reason, before=before,
                     after={"removed": True,
                            "default_card": new_default.masked_pan if new_default else None})
        uow.commit()
