"""Who is acting, and the role checks every staff service starts with."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from core.db.models import StaffRole
from core.errors import PermissionDenied


@dataclass(frozen=True)
class StaffActor:
    staff_id: int
    login: str
    role: StaffRole


def require_role(actor: StaffActor, allowed: Collection[StaffRole], what: str) -> None:
    if actor.role not in allowed:
        raise PermissionDenied(what)
