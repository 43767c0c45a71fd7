"""«Заблокированные кабинеты»: the cabinets blocked now, newest block first, for the agents
who work through them (call back, unblock after the code word).

A row is an open block (``cabinet_blocks.lifted_at`` NULL): who blocked the cabinet (the
customer, or the staff member by name), when and why. The page reads the open blocks
newest first through their own index and joins the few cabinets and staff of the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.actors import ActorKind, StaffActor, require_role
from core.app import App
from core.customers.contact_center import VIEWERS, full_name
from core.customers.lifecycle import block_author
from core.customers.rules import format_phone
from core.db.models import CabinetBlock, Customer, StaffUser
from core.paging import Page, PageRequest, capped_count


@dataclass(frozen=True)
class BlockedCabinetRow:
    block_id: int
    customer_id: int
    full_name: str
    phone: str  # formatted +7 999 123-45-67
    email: str
    blocked_at: datetime
    blocked_by: str  # «клиент», the staff member's name, or «система»
    by_customer: bool  # the customer blocked the cabinet themselves
    reason: str


def list_blocked_cabinets(app: App, actor: StaffActor,
                          page: PageRequest) -> Page[BlockedCabinetRow]:
    require_role(actor, VIEWERS, "заблокированные кабинеты")
    open_blocks = select(CabinetBlock.id).where(CabinetBlock.lifted_at.is_(None))
    with app.uow(write=False) as uow:
        s = uow.session
        total, capped = capped_count(s, open_blocks)
        rows = s.execute(
            select(CabinetBlock, Customer, StaffUser.name)
            .join(Customer, Customer.id == CabinetBlock.customer_id)
            .outerjoin(StaffUser, StaffUser.id == CabinetBlock.blocked_by_staff_id)
            .where(CabinetBlock.lifted_at.is_(None))
            .order_by(CabinetBlock.blocked_at.desc(), CabinetBlock.id.desc())
            .limit(page.sql_limit).offset(page.sql_offset)).all()
    items = [BlockedCabinetRow(
        block_id=b.id, customer_id=c.id, full_name=full_name(c), phone=format_phone(c.phone),
        email=c.email, blocked_at=b.blocked_at, blocked_by=block_author(b.blocked_by_kind, name),
        by_customer=b.blocked_by_kind is ActorKind.CUSTOMER, reason=b.reason)
        for b, c, name in rows]
    return Page(items=items, total=total, request=page, total_capped=capped)
