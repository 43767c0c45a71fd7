"""Money after the payment: the double-entry ledger (``ledger``), the acquirer's settlement
(``settlement``), reconciliation with the bank's registry (``reconciliation``, the file in
``bank_registry``, the pure matching in ``matching``) and payout registries to providers
(``payouts``).

May import: the ground floor, ``files``, ``staff``, ``billing`` and ``payments`` (statuses and
the gateway's settlement registry).
"""
