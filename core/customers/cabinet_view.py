"""«Смотреть как клиент»: an agent or an administrator opens a customer's own cabinet
screens from the back office, to see exactly what the caller sees.

The view is an ordinary cabinet session marked with the staff member who looks
(``viewer_staff_id``), so the cabinet's own pages and use cases serve it unchanged; the
use cases that only read accept it, every other one refuses it
(``sessions.signed_in_customer``). Every opening is journaled.

The back office and the cabinet are two apps, so the view travels as a link. The link
carries a one-time ticket, never the session's token: the cabinet redeems it once, within
``HANDOVER_TIME``, for the token it then keeps in the tab's memory. A link found later in
the browser's history, a proxy's log or a colleague's chat opens nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select

from core.actors import StaffActor, require_role
from core.app import App
from core.customers.cabinet import CustomerLogin
from core.customers.errors import CabinetViewLinkInvalid
from core.customers.lifecycle import get_customer
from core.db.models import CustomerSession
from core.security import codes
from core.staff import audit, permissions

VIEWERS = permissions.CABINET_ACTORS
HANDOVER_TIME = timedelta(minutes=2)
LINK_PARAMETER = "view"  # the cabinet reads the ticket from ?view=…


@dataclass(frozen=True)
class CabinetViewLink:
    ticket: str  # what ``enter_cabinet_view`` takes
    url: str  # the cabinet (``Settings.cabinet_url``) with the ticket
    valid_until: datetime


def open_cabinet_view(app: App, actor: StaffActor, customer_id: int) -> CabinetViewLink:
    """A read-only session of the customer's cabinet for ``actor``, as the one-time link
    that opens it in the cabinet (``enter_cabinet_view`` redeems its ticket)."""
    require_role(actor, VIEWERS, "просмотр кабинета клиента")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = get_customer(s, customer_id)
        ticket, digest = codes.new_token()
        s.add(CustomerSession(customer_id=customer.id, token_hash=digest, created_at=now,
                              last_seen_at=now, viewer_staff_id=actor.staff_id,
                              handover_until=now + HANDOVER_TIME))
        audit.record(s, at=now, action="customer.cabinet_view", actor=actor,
                     customer_id=customer.id)
        uow.commit()
        url = f"{app.settings.cabinet_url}/?{urlencode({LINK_PARAMETER: ticket})}"
        return CabinetViewLink(ticket, url, now + HANDOVER_TIME)


def enter_cabinet_view(app: App, ticket: str) -> CustomerLogin:
    """The cabinet opens the link: the view's session token, once; an unknown, used or
    late ticket raises ``CabinetViewLinkInvalid`` (a late one's session is ended)."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        row = s.scalars(select(CustomerSession)
                        .where(CustomerSession.token_hash == codes.token_digest(ticket or ""))
                        .with_for_update()).first()
        if (row is None or row.handover_until is None or row.viewer_staff_id is None
                or row.ended_at is not None):
            raise CabinetViewLinkInvalid()
        if now > row.handover_until:
            row.ended_at, row.end_reason, row.handover_until = now, "link_expired", None
            uow.commit()
            raise CabinetViewLinkInvalid()
        token, digest = codes.new_token()
        row.token_hash, row.handover_until, row.last_seen_at = digest, None, now
        uow.commit()
        return CustomerLogin(row.customer_id, token)
