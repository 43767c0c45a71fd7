"""Demo data, never loaded into a real database by itself: the rich demo of ``make run``
(``rich`` with ``billing``, ``payments``), the simulated bank's memory of it (``bank``), and the
data set at real size (``scale/``: 200,000 cabinets, 1,000,000 payments, written in bulk), the
fiscalised receipts both write (``receipts``), and the guard that lets demo rows only into an
empty database and the operator's start only where no demo password logs in (``guard``).

May import: every context (it builds their rows) and the ground floor.
"""
