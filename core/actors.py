"""Who is acting, and the role checks every staff service starts with.

On the ground floor because every context records who acted and checks staff roles.
"""
from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from core.errors import DomainError


class ActorKind(str, enum.Enum):
    """Who did something."""

    CUSTOMER = "customer"  # the cabinet's owner, through the cabinet
    STAFF = "staff"  # a back-office user, named by staff_id
    SYSTEM = "system"  # the service itself (jobs, demo seeding)


class StaffRole(str, enum.Enum):
    """What a back-office user may do (pages and actions follow from it)."""

    AGENT = "agent"  # contact center: find, identify, block/unblock customers
    FINANCE = "finance"  # payments, refunds, reconciliation, payouts
    MANAGER = "manager"  # analytics only, no personal data
    ADMIN = "admin"  # everything, staff accounts, overrides


ROLE_LABELS = {StaffRole.AGENT: "Оператор контакт-центра", StaffRole.FINANCE: "Финансист",
               StaffRole.MANAGER: "Менеджер", StaffRole.ADMIN: "Администратор"}


class PermissionDenied(DomainError):
    """A staff member's role does not allow the action (every context checks roles)."""

    code = "permission_denied"

    def __init__(self, what: str = "это действие") -> None:
        super().__init__(f"Недостаточно прав: {what} недоступно для вашей роли")


@dataclass(frozen=True)
class StaffActor:
    staff_id: int
    login: str
    role: StaffRole


def require_role(actor: StaffActor, allowed: Collection[StaffRole], what: str) -> None:
    if actor.role not in allowed:
        raise PermissionDenied(what)
