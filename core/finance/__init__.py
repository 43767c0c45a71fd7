"""Finance: reconciliation with the acquirer (registry files and matching)."""
