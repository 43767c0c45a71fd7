"""The database: the tables (``models``), the engine and its settings per dialect (``engine``),
migrations (``migrate``, scripts in ``core/migrations``), planner statistics (``statistics``),
column types (``types``) and the append-only guard of journals (``append_only``).

The status enums are defined beside their context's rules and only stored here. May import: the
ground floor, and the enums of ``notifications.channels`` and ``billing.invoice_rules``.
"""
