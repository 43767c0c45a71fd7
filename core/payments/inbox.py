"""Where the acquirer's one-time password arrives before we deliver it to the payer.

Our acquirer (and its simulator) hands the 3-D Secure one-time password to the
payment agent through a callback instead of texting the holder itself; we send
it by SMS (or to the receipt e-mail of a payment without a cabinet), keep only
its HMAC, and check it ourselves before the charge is asked for. The code sits
here for the few milliseconds between the gateway's callback and the service
that takes it, inside one ``tokenize_and_authorize`` call.
"""
from __future__ import annotations

import threading


class OtpInbox:
    """A thread-safe mailbox: the gateway ``put``s, the payment service ``take``s."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, gateway_txn_id: str, code: str) -> None:
        with self._lock:
            self._codes[gateway_txn_id] = code

    def take(self, gateway_txn_id: str) -> str | None:
        """The code for the transaction, once (None if the gateway sent none)."""
        with self._lock:
            return self._codes.pop(gateway_txn_id, None)

    def __repr__(self) -> str:  # never show codes
        return f"OtpInbox({len(self._codes)} waiting)"
