"""The fiscal register (online cash register, 54-FZ) as a port, and its in-memory simulator.

Every payment that moves money gets a fiscal document: «Приход» when the customer pays,
«Возврат прихода» when we refund. The register (ККТ with its fiscal drive, ФН) signs
the document; the signature (ФП) and the numbers ФН/ФД are printed on the receipt so
the customer can check it on the ФНС site.

Two outcomes only:

* a ``FiscalDocument`` — the register accepted the request;
* ``FiscalUnavailable`` — the register could not be reached; nothing was registered
  and the caller retries later with the **same** request.

A retry is safe because registration is idempotent per ``receipt_number``: a real
ККТ/ОФД pair refuses to print the same receipt twice and hands back the document it
already made. The same number with a *different* request is a caller's bug and is
refused with ``FiscalRequestConflict`` (a ``ValueError``).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Protocol

from core.clock import Clock


class FiscalOperation(StrEnum):
    """«Признак расчёта» (tag 1054): which way the money went."""

    INCOME = "income"  # «Приход»: the customer paid
    INCOME_RETURN = "income_return"  # «Возврат прихода»: we returned the money

    @property
    def label(self) -> str:
        return OPERATION_LABELS[self]

    @property
    def check_code(self) -> int:
        """The ``n=`` value of the ФНС check string (1 = приход, 2 = возврат прихода)."""
        return 1 if self is FiscalOperation.INCOME else 2


OPERATION_LABELS: dict[FiscalOperation, str] = {
    FiscalOperation.INCOME: "Приход",
    FiscalOperation.INCOME_RETURN: "Возврат прихода",
}


class FiscalUnavailable(Exception):
    """The register could not be reached: nothing was registered, retry later."""

    def __init__(self, message: str = "Касса недоступна: чек не зарегистрирован, "
                                      "повторите попытку позже") -> None:
        super().__init__(message)


class FiscalRequestConflict(ValueError):
    """The same receipt number came with a different request: a caller's bug."""


@dataclass(frozen=True)
class FiscalRequest:
    """What the register needs to sign one receipt.

    ``amount_kopecks`` is the total charged to the card, commission included;
    ``commission_kopecks`` is the agent's part of it.
    """

    receipt_number: int
    payment_id: int
    operation: FiscalOperation
    amount_kopecks: int
    commission_kopecks: int
    provider_name: str
    provider_inn: str
    customer_contact: str  # e-mail or phone the ОФД sends the electronic receipt to
    at: datetime  # aware UTC

    def __post_init__(self) -> None:
        # Accept the plain string ("income") too: callers often load it from a database.
        object.__setattr__(self, "operation", FiscalOperation(self.operation))
        for name in ("receipt_number", "payment_id", "amount_kopecks", "commission_kopecks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int")
        if self.receipt_number <= 0:
            raise ValueError("receipt_number must be positive")
        if self.amount_kopecks <= 0:
            raise ValueError("amount_kopecks must be positive: a receipt moves money")
        if not 0 <= self.commission_kopecks <= self.amount_kopecks:
            raise ValueError("commission_kopecks must be within 0..amount_kopecks")
        if self.at.tzinfo is None:
            raise ValueError("at must be timezone-aware (UTC)")
        if not self.customer_contact.strip():
            raise ValueError("customer_contact is required: 54-FZ receipts go to the customer")


_FN = re.compile(r"\d{16}")
_FP = re.compile(r"\d{10}")


@dataclass(frozen=True)
class FiscalDocument:
    """The register's answer: the requisites printed in the receipt's fiscal block."""

    fiscal_drive_number: str  # ФН, 16 digits
    fiscal_document_number: int  # ФД, sequential per fiscal drive
    fiscal_sign: str  # ФП (ФПД), 10 digits, leading zeros kept
    registered_at: datetime  # UTC
    kkt_registration_number: str  # РН ККТ, 16 digits
    shift_number: int

    def __post_init__(self) -> None:
        if not _FN.fullmatch(self.fiscal_drive_number):
            raise ValueError("fiscal_drive_number must be 16 digits")
        if not _FN.fullmatch(self.kkt_registration_number):
            raise ValueError("kkt_registration_number must be 16 digits")
        if not _FP.fullmatch(self.fiscal_sign):
            raise ValueError("fiscal_sign must be 10 digits")
        if self.fiscal_document_number <= 0 or self.shift_number <= 0:
            raise ValueError("document and shift numbers are positive")


class FiscalRegister(Protocol):
    def register(self, request: FiscalRequest) -> FiscalDocument:
        """Sign ``request``; the same ``receipt_number`` again returns the same document.

        Raises ``FiscalUnavailable`` (retry later) or ``FiscalRequestConflict`` (the
        number was already used for a different request).
        """
        ...


# Plausible requisites. A ФН number starting with 9999 is a test drive in the ККТ
# makers' numbering, so these never pass for a real register.
SIMULATOR_FISCAL_DRIVE_NUMBER = "9999078900012345"
SIMULATOR_KKT_REGISTRATION_NUMBER = "0000000001012345"
_SIMULATOR_KEY = b"fiscal-simulator: not a real fiscal drive key"


class FiscalSimulator:
    """An in-memory register: ФД counts from ``first_document_number``, ФП is an HMAC.

    Thread-safe: the payment engine may fiscalise from several workers at once, and ФД
    numbers must stay unique and gap-free, like on a real fiscal drive.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        key: bytes = _SIMULATOR_KEY,
        fiscal_drive_number: str = SIMULATOR_FISCAL_DRIVE_NUMBER,
        kkt_registration_number: str = SIMULATOR_KKT_REGISTRATION_NUMBER,
        shift_number: int = 1,
        first_document_number: int = 1,
    ) -> None:
        self._clock = clock
        self._key = key
        self._fn = fiscal_drive_number
        self._rn = kkt_registration_number
        self._shift = shift_number
        self._next_fd = first_document_number
        self._unavailable_next = False
        self._lock = threading.Lock()
        self._by_receipt: dict[int, tuple[FiscalRequest, FiscalDocument]] = {}

    def make_next_call_unavailable(self) -> None:
        """The next ``register`` call raises ``FiscalUnavailable`` and registers nothing."""
        with self._lock:
            self._unavailable_next = True

    @property
    def documents(self) -> list[FiscalDocument]:
        """Everything registered, in ФД order (for tests and the demo's journal)."""
        with self._lock:
            docs = [doc for _, doc in self._by_receipt.values()]
        return sorted(docs, key=lambda d: d.fiscal_document_number)

    def register(self, request: FiscalRequest) -> FiscalDocument:
        with self._lock:
            if self._unavailable_next:
                self._unavailable_next = False
                raise FiscalUnavailable()
            known = self._by_receipt.get(request.receipt_number)
            if known is not None:
                earlier, document = known
                if earlier != request:
                    raise FiscalRequestConflict(
                        f"receipt {request.receipt_number} was registered for another request"
                    )
                return document
            fd = self._next_fd
            self._next_fd += 1
            registered_at = self._clock.now().astimezone(timezone.utc)
            document = FiscalDocument(
                fiscal_drive_number=self._fn,
                fiscal_document_number=fd,
                fiscal_sign=self._sign(request, fd, registered_at),
                registered_at=registered_at,
                kkt_registration_number=self._rn,
                shift_number=self._shift,
            )
            self._by_receipt[request.receipt_number] = (request, document)
            return document

    def _sign(self, request: FiscalRequest, fd: int, registered_at: datetime) -> str:
        """A real ФП is a 32-bit MAC computed by the drive; ours is an HMAC cut to 32 bits."""
        message = "|".join(
            str(part)
            for part in (
                self._fn, fd, registered_at.isoformat(), request.operation.value,
                request.amount_kopecks, request.receipt_number,
            )
        ).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return str(int.from_bytes(digest[:4], "big")).zfill(10)
