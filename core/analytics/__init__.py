"""What managers read: the report's figures (``metrics``), the daily rollups of final payments
(``rollups``) and the invoices-per-month snapshot (``invoice_snapshot``).

May import: the ground floor, ``files``, ``staff``, ``billing``, ``payments``, ``finance`` and ``notifications`` (subscription figures).
"""
