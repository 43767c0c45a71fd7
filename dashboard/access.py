"""Which role may open which page: the single registry app.py and the pages share."""
from __future__ import annotations

from dataclasses import dataclass

from core.db.models import StaffRole

A, F, M, ADM = StaffRole.AGENT, StaffRole.FINANCE, StaffRole.MANAGER, StaffRole.ADMIN


@dataclass(frozen=True)
class PageSpec:
    key: str
    path: str  # relative to dashboard/
    title: str
    icon: str
    roles: frozenset[StaffRole]
    # Roles that may look but not act (e.g. finance on «Клиенты»).
    view_only: frozenset[StaffRole] = frozenset()


PAGES: tuple[PageSpec, ...] = (
    PageSpec("customers", "pages/customers.py", "Клиенты", ":material/person_search:",
             frozenset({A, F, ADM}), view_only=frozenset({F})),
    PageSpec("audit", "pages/audit.py", "Журнал действий", ":material/history:",
             frozenset({A, F, ADM})),
    PageSpec("staff", "pages/staff.py", "Сотрудники", ":material/badge:", frozenset({ADM})),
)

BY_KEY = {page.key: page for page in PAGES}


def pages_for(role: StaffRole) -> list[PageSpec]:
    return [page for page in PAGES if role in page.roles]


def can_act(page_key: str, role: StaffRole) -> bool:
    spec = BY_KEY[page_key]
    return role in spec.roles and role not in spec.view_only
