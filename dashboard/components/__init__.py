"""Pieces of screen shared by several pages: the customer card (``customer_card``), payment
lists and a payment's card (``payment_panel``), invoice lists and an invoice's breakdown
(``invoice_panel``). Like the pages, they read and write through ``core``'s use cases only."""
