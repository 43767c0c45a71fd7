"""Paying: the state machine (``machine``) and the moves that go with each step (``state``),
card input (``cards``), the gateway port and its simulators (``gateway``, ``simulator``,
``simulator_store``, ``inbox``), one-time passwords (``otp``), amounts and quotes (``amounts``,
``quotes``), the payment use cases (``flow``), recovery of unknown outcomes (``recovery``),
refunds (``refunds``), saved cards (``saved_cards``) and cards bound without a payment
(``card_binding``: the bank's 1 ₽ check, released at once; ``binding_holds``: the worker
releasing a check's hold left on the card), receipts with the fiscal register
(``receipts``, ``fiscal``, ``receipt_render``; ``receipt_resend``: a receipt e-mailed again
from the back office), messages about payments (``notices``), payments as staff and
customers read them (``read_models``; ``timeline_words``: the timeline in words) and what
the bank's codes mean (``bank_answers``).

May import: the ground floor, ``files``, ``security``, ``staff``, ``customers``, ``billing``,
``notifications``, ``finance`` (the ledger a charge posts to) and ``analytics`` (the daily
rollups, written in the charge's own transaction).
"""
