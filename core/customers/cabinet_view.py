"""«Смотреть как клиент»: an agent or an administrator opens a customer's own cabinet
screens from the back office, to see exactly what the caller sees.

The view is an ordinary cabinet session marked with the staff member who looks
(``viewer_staff_id``), so the cabinet's own pages and use cases serve it unchanged; the
use cases that only read accept it, every other one refuses it
(``sessions.signed_in_customer``). Every opening is journaled.
"""
from __future__ import annotations

from core.actors import StaffActor, require_role
from core.app import App
from core.customers.lifecycle import get_customer
from core.db.models import CustomerSession
from core.security import codes
from core.staff import audit, permissions

VIEWERS = permissions.CABINET_ACTORS


def open_cabinet_view(app: App, actor: StaffActor, customer_id: int) -> str:
    """A read-only session of the customer's cabinet for ``actor``; its token."""
    require_role(actor, VIEWERS, "просмотр кабинета клиента")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = get_customer(s, customer_id)
        token, digest = codes.new_token()
        s.add(CustomerSession(customer_id=customer.id, token_hash=digest, created_at=now,
                              last_seen_at=now, viewer_staff_id=actor.staff_id))
        audit.record(s, at=now, action="customer.cabinet_view", actor=actor,
                     customer_id=customer.id)
        uow.commit()
        return token
