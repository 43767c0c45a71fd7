"""An in-memory acquirer that behaves like a real one, for tests and the demo.

Test cards (any future expiry, any 3-digit CVV; other valid numbers succeed):

==========================  ==========================================================
4111 1111 1111 1111         success (Visa)
2200 0000 0000 0004         success (Mir)
4000 0000 0000 0002         declined «Отказ банка-эмитента»
4000 0000 0000 9995         declined «Недостаточно средств»
4000 0000 0000 0127         declined: wrong CVV
4000 0000 0000 0069         declined: the issuer says the card has expired
4000 0000 0000 0119         processing error (status "error")
4000 0000 0000 3238         confirm times out; the card WAS charged (status() -> succeeded)
4000 0000 0000 3246         confirm times out; NOT charged (status() -> declined)
==========================  ==========================================================

Declines and errors come at authorisation (no OTP is sent); time-outs come at the
charge, i.e. at ``confirm`` with the right code. A card check (``verify_card``) follows
the same table, its "charge" being the 1 ₽ hold that ``reverse`` releases. The one-time password (6 digits)
is delivered only through ``otp_sink(gateway_txn_id, code)``; the simulator keeps
its hash. The card number and CVV are not kept beyond the call: a token maps to
(brand, masked number, expiry) and the test scenario.

Switches for tests (each affects one call): ``make_next_call_time_out(charged)``,
``make_next_call_unavailable()``, ``make_next_payment_decline(code)``.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from core.clock import Clock
from core.payments import gateway as g
from core.timefmt import moscow_date
from core.payments.cards import CardInput, detect_brand, mask, validate_cvv

OTP_LENGTH = 6
OTP_LIFETIME = timedelta(minutes=5)
OTP_ATTEMPTS = 3


class Scenario(StrEnum):
    """What a test card makes the simulator do."""

    SUCCESS = "success"  # OTP, then charged
    DECLINED = "declined"  # issuer refuses at authorisation
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INCORRECT_CVV = "incorrect_cvv"
    EXPIRED_CARD = "expired_card"  # issuer says expired, whatever the printed date
    PROCESSING_ERROR = "processing_error"  # authorisation answers "error"
    TIMEOUT_CHARGED = "timeout_charged"  # confirm raises GatewayTimeout; charged
    TIMEOUT_NOT_CHARGED = "timeout_not_charged"  # confirm raises GatewayTimeout; not charged


TEST_CARDS: dict[str, Scenario] = {
    "4111111111111111": Scenario.SUCCESS,
    "2200000000000004": Scenario.SUCCESS,
    "4000000000000002": Scenario.DECLINED,
    "4000000000009995": Scenario.INSUFFICIENT_FUNDS,
    "4000000000000127": Scenario.INCORRECT_CVV,
    "4000000000000069": Scenario.EXPIRED_CARD,
    "4000000000000119": Scenario.PROCESSING_ERROR,
    "4000000000003238": Scenario.TIMEOUT_CHARGED,
    "4000000000003246": Scenario.TIMEOUT_NOT_CHARGED,
}

_DECLINE_AT_AUTHORIZE: dict[Scenario, str] = {
    Scenario.DECLINED: g.ISSUER_DECLINED,
    Scenario.INSUFFICIENT_FUNDS: g.INSUFFICIENT_FUNDS,
    Scenario.INCORRECT_CVV: g.INCORRECT_CVV,
    Scenario.EXPIRED_CARD: g.EXPIRED_CARD,
    Scenario.PROCESSING_ERROR: g.PROCESSING_ERROR,
}


@dataclass(frozen=True)
class _SavedCard:
    brand: str
    masked: str
    exp_month: int
    exp_year: int
    scenario: Scenario


@dataclass
class _Txn:
    txn_id: str
    amount: int
    card: _SavedCard
    status: g.TxnStatus
    otp_hash: str = ""
    otp_expires: datetime | None = None
    attempts_left: int = OTP_ATTEMPTS
    rrn: str | None = None
    auth_code: str | None = None
    decline_code: str | None = None
    refunded: int = 0
    verification: bool = False  # a card check: the right code holds, never charges


@dataclass(frozen=True)
class HistoricTxn:
    """A transaction the bank processed before the simulator started (demo history)."""

    txn_id: str
    amount_kopecks: int  # charged: the payment's amount plus commission
    masked_pan: str
    brand: str
    rrn: str
    auth_code: str
    at: datetime
    refunded_kopecks: int = 0


@dataclass(frozen=True)
class HistoricRefund:
    """A refund the bank made before the simulator started (demo history): the registry
    line of its day, as a refund made through ``refund`` writes it."""

    idempotency_key: str  # what it was asked under: one the bank knows is not added again
    txn_id: str  # the refunded payment's transaction
    amount_kopecks: int
    masked_pan: str
    rrn: str
    at: datetime


def refund_line(h: HistoricRefund) -> g.SettlementLine:
    return g.SettlementLine(h.txn_id, h.rrn, h.masked_pan, h.amount_kopecks,
                            g.Operation.REFUND, h.at)


@dataclass(frozen=True)
class HistoricCard:
    """A card token the bank issued before (a demo customer's saved card)."""

    token: str
    brand: str
    masked_pan: str
    exp_month: int
    exp_year: int


def history_records(txns: list[HistoricTxn], cards: list[HistoricCard]
                    ) -> tuple[dict[str, _SavedCard], dict[str, _Txn], dict[str, g.SettlementLine]]:
    """The bank's records of a history: tokens, transactions and their registry lines."""
    tokens = {c.token: _SavedCard(c.brand, c.masked_pan, c.exp_month, c.exp_year,
                                  Scenario.SUCCESS) for c in cards}
    known: dict[str, _Txn] = {}
    lines: dict[str, g.SettlementLine] = {}
    for h in txns:
        card = _SavedCard(h.brand, h.masked_pan, 12, 2030, Scenario.SUCCESS)
        known[h.txn_id] = _Txn(h.txn_id, h.amount_kopecks, card, g.TxnStatus.SUCCEEDED,
                               rrn=h.rrn, auth_code=h.auth_code, refunded=h.refunded_kopecks)
        lines[h.txn_id] = g.SettlementLine(h.txn_id, h.rrn, h.masked_pan, h.amount_kopecks,
                                           g.Operation.PAYMENT, h.at)
    return tokens, known, lines


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class GatewaySimulator:
    """Implements ``AcquiringGateway`` in memory (see the module docstring)."""

    def __init__(self, clock: Clock,
                 otp_sink: Callable[[str, str], None] | None = None) -> None:
        self._clock = clock
        self._otp_sink = otp_sink
        self._seq = 0
        self._tokens: dict[str, _SavedCard] = {}
        self._txns: dict[str, _Txn] = {}
        self._auth_keys: dict[str, tuple[tuple, g.AuthorizeResponse]] = {}
        self._refund_keys: dict[str, tuple[tuple, g.RefundResponse]] = {}
        self._registry: list[g.SettlementLine] = []
        self._history_refunds: set[str] = set()  # the refunds' keys ``load_history`` added
        self._next_fault: str | None = None  # "unavailable" | "charged" | "not_charged"
        self._next_decline: str | None = None

    # --- switches -----------------------------------------------------------
    def make_next_call_time_out(self, charged: bool) -> None:
        """The next call raises ``GatewayTimeout``; with ``charged`` it took effect first."""
        self._next_fault = "charged" if charged else "not_charged"

    def make_next_call_unavailable(self) -> None:
        self._next_fault = "unavailable"

    def make_next_payment_decline(self, code: str) -> None:
        """The next authorisation is declined with ``code`` (a ``gateway`` decline code)."""
        self._next_decline = code

    # --- state hooks for ``simulator_store`` (one bank shared by processes) ------
    def _export_state(self) -> dict[str, object]:
        """Everything the bank remembers, switches included, as picklable values."""
        return {"seq": self._seq, "tokens": self._tokens, "txns": self._txns,
                "auth_keys": self._auth_keys, "refund_keys": self._refund_keys,
                "registry": self._registry, "next_fault": self._next_fault,
                "next_decline": self._next_decline}

    def _import_state(self, state: dict[str, object]) -> None:
        """Replace the bank's memory with ``state`` from ``_export_state``."""
        self._seq = state["seq"]  # type: ignore[assignment]
        self._tokens = state["tokens"]  # type: ignore[assignment]
        self._txns = state["txns"]  # type: ignore[assignment]
        self._auth_keys = state["auth_keys"]  # type: ignore[assignment]
        self._refund_keys = state["refund_keys"]  # type: ignore[assignment]
        self._registry = state["registry"]  # type: ignore[assignment]
        self._next_fault = state["next_fault"]  # type: ignore[assignment]
        self._next_decline = state["next_decline"]  # type: ignore[assignment]

    def load_history(self, txns: list[HistoricTxn], cards: list[HistoricCard],
                     refunds: Iterable[HistoricRefund] = ()) -> int:
        """Seed the bank with what it processed before, so that status queries, refunds
        and saved cards work on demo data, and its registry holds the history's payments
        and refunds. Known ids are left as they are; returns the new transactions."""
        tokens, known, lines = history_records(txns, cards)
        for token, card in tokens.items():
            self._tokens.setdefault(token, card)
        added = 0
        for txn_id, txn in known.items():
            if txn_id not in self._txns:
                self._txns[txn_id] = txn
                self._registry.append(lines[txn_id])
                added += 1
        for refund in refunds:
            key = refund.idempotency_key
            if key not in self._history_refunds and key not in self._refund_keys:
                self._history_refunds.add(key)
                self._registry.append(refund_line(refund))
        return added

    def _take_fault(self) -> str | None:
        fault, self._next_fault = self._next_fault, None
        if fault == "unavailable":
            raise g.GatewayUnavailable("Шлюз недоступен")
        return fault

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}-{self._seq:08d}"

    # --- authorise ----------------------------------------------------------
    def tokenize_and_authorize(self, request: g.AuthorizeRequest) -> g.AuthorizeResponse:
        return self._authorize_once(request, verification=False)

    def verify_card(self, request: g.VerifyCardRequest) -> g.AuthorizeResponse:
        return self._authorize_once(g.AuthorizeRequest(
            payment_id=request.binding_id, amount_kopecks=g.VERIFY_AMOUNT_KOPECKS,
            card=request.card, token=None, cvv=None, description="Проверка карты",
            idempotency_key=request.idempotency_key), verification=True)

    def _authorize_once(self, request: g.AuthorizeRequest, *,
                        verification: bool) -> g.AuthorizeResponse:
        fault = self._take_fault()
        if fault == "not_charged":
            raise g.GatewayTimeout()
        saved = self._card_of(request)
        fingerprint = (request.payment_id, request.amount_kopecks, request.description,
                       request.token, saved.masked if saved else None)
        if verification:  # a card check and a payment never share a key
            fingerprint = ("verify", *fingerprint)
        if request.idempotency_key in self._auth_keys:
            known, response = self._auth_keys[request.idempotency_key]
            if known != fingerprint:
                raise g.IdempotencyKeyReused(request.idempotency_key)
        else:
            response = self._authorize(request, saved, verification)
            self._auth_keys[request.idempotency_key] = (fingerprint, response)
        if fault == "charged":
            raise g.GatewayTimeout()
        return response

    def _card_of(self, request: g.AuthorizeRequest) -> _SavedCard | None:
        if (request.card is None) == (request.token is None):
            raise ValueError("pass either a card or a saved card's token")
        if request.card is not None:
            card: CardInput = request.card.validate(self._clock.now().date())
            return _SavedCard(str(detect_brand(card.number)), mask(card.number),
                              card.exp_month, card.exp_year,
                              TEST_CARDS.get(card.number, Scenario.SUCCESS))
        validate_cvv(request.cvv)
        return self._tokens.get(request.token or "")

    def _authorize(self, request: g.AuthorizeRequest, saved: _SavedCard | None,
                   verification: bool = False) -> g.AuthorizeResponse:
        if saved is None:
            return g.AuthorizeResponse(g.AuthorizeStatus.DECLINED,
                                       decline_code=g.UNKNOWN_TOKEN,
                                       decline_message_ru=g.decline_message(g.UNKNOWN_TOKEN))
        txn = _Txn(self._next_id("sim"), request.amount_kopecks, saved, g.TxnStatus.PENDING,
                   verification=verification)
        self._txns[txn.txn_id] = txn
        today = self._clock.now().date()
        code = _DECLINE_AT_AUTHORIZE.get(saved.scenario)
        if self._next_decline:
            code, self._next_decline = self._next_decline, None
        if request.amount_kopecks <= 0:
            code = g.INVALID_AMOUNT
        elif (saved.exp_year, saved.exp_month) < (today.year, today.month):
            code = g.EXPIRED_CARD
        card_fields = {"gateway_txn_id": txn.txn_id, "brand": saved.brand,
                           "masked_pan": saved.masked, "exp_month": saved.exp_month,
                           "exp_year": saved.exp_year}
        if code:
            txn.status, txn.decline_code = g.TxnStatus.DECLINED, code
            status = (g.AuthorizeStatus.ERROR if code == g.PROCESSING_ERROR
                      else g.AuthorizeStatus.DECLINED)
            return g.AuthorizeResponse(status, decline_code=code,
                                       decline_message_ru=g.decline_message(code),
                                       **card_fields)
        token = request.token or "tok_" + secrets.token_urlsafe(18)
        self._tokens[token] = saved
        otp = f"{secrets.randbelow(10 ** OTP_LENGTH):0{OTP_LENGTH}d}"
        txn.otp_hash, txn.otp_expires = _hash(otp), self._clock.now() + OTP_LIFETIME
        if self._otp_sink is not None:
            self._otp_sink(txn.txn_id, otp)
        return g.AuthorizeResponse(g.AuthorizeStatus.OTP_REQUIRED, card_token=token,
                                   **card_fields)

    # --- confirm ------------------------------------------------------------
    def confirm(self, request: g.ConfirmRequest) -> g.ConfirmResponse:
        fault = self._take_fault()
        txn = self._txns.get(request.gateway_txn_id)
        if txn is None:
            return self._declined(request.gateway_txn_id, g.UNKNOWN_TRANSACTION)
        if txn.status is not g.TxnStatus.PENDING:
            if fault:
                raise g.GatewayTimeout(txn.txn_id)
            return self._final_answer(txn)
        if txn.otp_expires is None or self._clock.now() >= txn.otp_expires:
            txn.status, txn.decline_code = g.TxnStatus.DECLINED, "otp_expired"
            return g.ConfirmResponse(g.ConfirmStatus.OTP_EXPIRED, txn.txn_id)
        if not hmac.compare_digest(_hash(str(request.otp).strip()), txn.otp_hash):
            txn.attempts_left -= 1
            if txn.attempts_left <= 0:
                txn.status, txn.decline_code = g.TxnStatus.DECLINED, g.OTP_ATTEMPTS_EXCEEDED
                return self._final_answer(txn)
            return g.ConfirmResponse(g.ConfirmStatus.OTP_INVALID, txn.txn_id,
                                     attempts_left=txn.attempts_left)
        scenario = txn.card.scenario
        if fault == "not_charged" or scenario is Scenario.TIMEOUT_NOT_CHARGED:
            txn.status, txn.decline_code = g.TxnStatus.DECLINED, g.TIMED_OUT_NOT_CHARGED
            raise g.GatewayTimeout(txn.txn_id)
        if txn.verification:
            self._hold(txn)
        else:
            self._charge(txn)
        if fault == "charged" or scenario is Scenario.TIMEOUT_CHARGED:
            raise g.GatewayTimeout(txn.txn_id)
        return self._final_answer(txn)

    def _charge(self, txn: _Txn) -> None:
        txn.status = g.TxnStatus.SUCCEEDED
        txn.rrn, txn.auth_code = self._rrn(), f"{secrets.randbelow(10 ** 6):06d}"
        txn.otp_hash = ""
        self._registry.append(g.SettlementLine(txn.txn_id, txn.rrn, txn.card.masked,
                                               txn.amount, g.Operation.PAYMENT,
                                               self._clock.now()))

    def _hold(self, txn: _Txn) -> None:
        """A card check's right code: the money is held, not taken (no registry line)."""
        txn.status, txn.auth_code = g.TxnStatus.AUTHORIZED, f"{secrets.randbelow(10 ** 6):06d}"
        txn.otp_hash = ""

    def _rrn(self) -> str:
        self._seq += 1
        return f"{600_000_000_000 + self._seq}"

    def _final_answer(self, txn: _Txn) -> g.ConfirmResponse:
        if txn.status is g.TxnStatus.SUCCEEDED:
            return g.ConfirmResponse(g.ConfirmStatus.SUCCEEDED, txn.txn_id,
                                     rrn=txn.rrn, auth_code=txn.auth_code)
        if txn.status in (g.TxnStatus.AUTHORIZED, g.TxnStatus.REVERSED):
            return g.ConfirmResponse(g.ConfirmStatus.AUTHORIZED, txn.txn_id,
                                     auth_code=txn.auth_code)
        return self._declined(txn.txn_id, txn.decline_code or g.ISSUER_DECLINED)

    @staticmethod
    def _declined(txn_id: str, code: str) -> g.ConfirmResponse:
        return g.ConfirmResponse(g.ConfirmStatus.DECLINED, txn_id, decline_code=code,
                                 decline_message_ru=g.decline_message(code))

    # --- status -------------------------------------------------------------
    def status(self, gateway_txn_id: str) -> g.StatusResponse:
        if self._take_fault():
            raise g.GatewayTimeout(gateway_txn_id)
        txn = self._txns.get(gateway_txn_id)
        if txn is None:
            return g.StatusResponse(g.TxnStatus.NOT_FOUND, gateway_txn_id)
        return g.StatusResponse(txn.status, txn.txn_id, txn.amount, txn.refunded,
                                txn.rrn, txn.auth_code, txn.decline_code)

    # --- reverse (a card check's hold) -----------------------------------------
    def reverse(self, gateway_txn_id: str) -> g.ReverseResponse:
        fault = self._take_fault()
        if fault == "not_charged":
            raise g.GatewayTimeout(gateway_txn_id)
        txn = self._txns.get(gateway_txn_id)
        if txn is not None and txn.status is g.TxnStatus.AUTHORIZED:
            txn.status = g.TxnStatus.REVERSED
        if txn is not None and txn.status is g.TxnStatus.REVERSED:
            response = g.ReverseResponse(g.ReverseStatus.REVERSED, gateway_txn_id, txn.amount)
        else:
            code = g.UNKNOWN_TRANSACTION if txn is None else g.NOT_REVERSIBLE
            response = g.ReverseResponse(g.ReverseStatus.DECLINED, gateway_txn_id,
                                         decline_code=code,
                                         decline_message_ru=g.decline_message(code))
        if fault == "charged":
            raise g.GatewayTimeout(gateway_txn_id)
        return response

    # --- refund -------------------------------------------------------------
    def refund(self, request: g.RefundRequest) -> g.RefundResponse:
        fault = self._take_fault()
        if fault == "not_charged":
            raise g.GatewayTimeout(request.gateway_txn_id)
        fingerprint = (request.gateway_txn_id, request.amount_kopecks)
        if request.idempotency_key in self._refund_keys:
            known, response = self._refund_keys[request.idempotency_key]
            if known != fingerprint:
                raise g.IdempotencyKeyReused(request.idempotency_key)
        else:
            response = self._refund(request)
            self._refund_keys[request.idempotency_key] = (fingerprint, response)
        if fault == "charged":
            raise g.GatewayTimeout(request.gateway_txn_id)
        return response

    def _refund(self, request: g.RefundRequest) -> g.RefundResponse:
        txn = self._txns.get(request.gateway_txn_id)
        code = None
        if txn is None:
            code = g.UNKNOWN_TRANSACTION
        elif txn.status is not g.TxnStatus.SUCCEEDED:
            code = g.NOT_REFUNDABLE
        elif request.amount_kopecks <= 0:
            code = g.INVALID_AMOUNT
        elif request.amount_kopecks > txn.amount - txn.refunded:
            code = g.REFUND_EXCEEDS_AVAILABLE
        if code or txn is None:
            return g.RefundResponse(g.RefundStatus.DECLINED, request.gateway_txn_id,
                                    request.amount_kopecks,
                                    refunded_total_kopecks=txn.refunded if txn else 0,
                                    decline_code=code,
                                    decline_message_ru=g.decline_message(code or ""))
        txn.refunded += request.amount_kopecks
        rrn = self._rrn()
        self._registry.append(g.SettlementLine(txn.txn_id, rrn, txn.card.masked,
                                               request.amount_kopecks, g.Operation.REFUND,
                                               self._clock.now()))
        return g.RefundResponse(g.RefundStatus.SUCCEEDED, txn.txn_id, request.amount_kopecks,
                                refund_id=self._next_id("ref"), rrn=rrn,
                                refunded_total_kopecks=txn.refunded)

    # --- registry -----------------------------------------------------------
    def settlement_registry(self, day: date) -> list[g.SettlementLine]:
        if self._take_fault():
            raise g.GatewayTimeout()
        return [line for line in self._registry if moscow_date(line.time) == day]
