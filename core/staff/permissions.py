"""Who may do what in the back office: each group of roles written once, named for what it
allows. Use cases name their own rule after one of these (``refunds.REFUNDERS =
MONEY_MOVERS``), so a page and its use case cannot disagree."""
from __future__ import annotations

from core.actors import StaffRole

AGENT, FINANCE, MANAGER, ADMIN = (StaffRole.AGENT, StaffRole.FINANCE, StaffRole.MANAGER,
                                  StaffRole.ADMIN)

# A customer's personal data, payments and invoices: the contact center, finance, admins.
PERSONAL_DATA_READERS = frozenset({AGENT, FINANCE, ADMIN})
# Acting on a cabinet for its owner (block, unblock, subscriptions, cards, messages).
CABINET_ACTORS = frozenset({AGENT, ADMIN})
# Money and the bank: refunds, status queries, exports of payments, reconciliation, payouts,
# billing registries.
MONEY_MOVERS = frozenset({FINANCE, ADMIN})
# Figures without personal data.
ANALYTICS_READERS = frozenset({MANAGER, FINANCE, ADMIN})
ANALYTICS_EXPORTERS = frozenset({MANAGER, ADMIN})
# How many cabinets receive each topic (counts only, no names).
SUBSCRIPTION_COUNT_READERS = frozenset({MANAGER, AGENT, ADMIN})
# Staff accounts, providers, message templates.
ADMINS = frozenset({ADMIN})
# Who must log in with a second factor (TOTP): those who move money or manage staff.
SECOND_FACTOR_REQUIRED = frozenset({FINANCE, ADMIN})
