"""Which role may open which page: the single registry app.py and the pages share.

The page scripts live in ``dashboard/views/``, not ``pages/``: a ``pages/``
folder beside the entry script switches Streamlit to its old multipage mode
until the process first meets ``st.navigation``, and in that mode a page's
URL runs the page script without ``app.py`` (and so without the login).
"""
from __future__ import annotations

from dataclasses import dataclass

from core.actors import StaffRole

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
    PageSpec("home", "views/home.py", "Главная", ":material/home:", frozenset({A, F, M, ADM})),
    PageSpec("customers", "views/customers.py", "Клиенты", ":material/person_search:",
             frozenset({A, F, ADM}), view_only=frozenset({F})),
    PageSpec("accounts", "views/accounts.py", "Лицевые счета", ":material/apartment:",
             frozenset({A, F, ADM}), view_only=frozenset({A})),
    PageSpec("invoices", "views/invoices.py", "Счета", ":material/receipt_long:",
             frozenset({A, F, ADM}), view_only=frozenset({A})),
    # Agents look (list, card, receipts) but neither refund, ask the bank nor
    # export; finance and admins act; managers have no page.
    PageSpec("payments", "views/payments.py", "Платежи", ":material/payments:",
             frozenset({A, F, ADM}), view_only=frozenset({A})),
    PageSpec("reconciliation", "views/reconciliation.py", "Сверка", ":material/rule:",
             frozenset({F, ADM})),
    PageSpec("payouts", "views/payouts.py", "Реестры перечислений", ":material/account_balance:",
             frozenset({F, ADM})),
    PageSpec("subscriptions", "views/subscriptions.py", "Подписки и рассылки",
             ":material/notifications:", frozenset({A, M, ADM}), view_only=frozenset({M})),
    PageSpec("analytics", "views/analytics.py", "Аналитика", ":material/monitoring:",
             frozenset({F, M, ADM}), view_only=frozenset({F})),
    PageSpec("audit", "views/audit.py", "Журнал действий", ":material/history:",
             frozenset({A, F, ADM})),
    PageSpec("staff", "views/staff.py", "Сотрудники", ":material/badge:", frozenset({ADM})),
)

BY_KEY = {page.key: page for page in PAGES}


def pages_for(role: StaffRole) -> list[PageSpec]:
    return [page for page in PAGES if role in page.roles]


def can_act(page_key: str, role: StaffRole) -> bool:
    spec = BY_KEY[page_key]
    return role in spec.roles and role not in spec.view_only


def landing_for(role: StaffRole) -> str:
    """Agents land on «Клиенты», their daily work; others on «Главная»."""
    return "customers" if role in BY_KEY["customers"].roles else "home"


# The query parameter of each card and the page that draws it: /payments?payment=7.
# The landing page's address is «/», so a link made there names no page.
CARD_PAGES = {"customer": "customers", "payment": "payments", "invoice": "invoices",
              "run": "reconciliation"}
