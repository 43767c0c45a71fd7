"""One contract, every implementation of ``AcquiringGateway``.

The same cases run against the simulator and a deliberately tiny fake, so the port
(not one implementation's habits) is what the rest of the code may rely on.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, timedelta
from typing import ClassVar

import pytest

from core.clock import FrozenClock
from core.payments import gateway as g
from core.payments.cards import CardInput, mask
from core.payments.simulator import GatewaySimulator
from core.payments.simulator_store import FileBackedSimulator

OK_CARD = "4111 1111 1111 1111"


class TinyFakeGateway:
    """The smallest thing that honours the contract: a few test numbers, fixed OTP."""

    DECLINES: ClassVar[dict[str, str]] = {"4000000000000002": g.ISSUER_DECLINED,
                "4000000000009995": g.INSUFFICIENT_FUNDS,
                "4000000000000119": g.PROCESSING_ERROR}
    OTP = "424242"

    def __init__(self, clock: FrozenClock, otp_sink: Callable[[str, str], None] | None) -> None:
        self.clock, self.otp_sink = clock, otp_sink
        self.txns: dict[str, dict] = {}
        self.keys: dict[str, object] = {}
        self.lines: list[g.SettlementLine] = []

    def verify_card(self, request: g.VerifyCardRequest) -> g.AuthorizeResponse:
        response = self.tokenize_and_authorize(g.AuthorizeRequest(
            request.binding_id, g.VERIFY_AMOUNT_KOPECKS, request.card, None, None,
            "Проверка карты", request.idempotency_key))
        if response.gateway_txn_id in self.txns:
            self.txns[response.gateway_txn_id]["verify"] = True
        return response

    def reverse(self, gateway_txn_id: str) -> g.ReverseResponse:
        txn = self.txns.get(gateway_txn_id)
        if txn is None or txn["status"] not in ("authorized", "reversed"):
            return g.ReverseResponse(g.ReverseStatus.DECLINED, gateway_txn_id,
                                     decline_code=g.NOT_REVERSIBLE)
        txn["status"] = "reversed"
        return g.ReverseResponse(g.ReverseStatus.REVERSED, gateway_txn_id, txn["amount"])

    def tokenize_and_authorize(self, request: g.AuthorizeRequest) -> g.AuthorizeResponse:
        if request.idempotency_key in self.keys:
            return self.keys[request.idempotency_key]  # type: ignore[return-value]
        assert request.card is not None
        number = request.card.validate(self.clock.now().date()).number
        txn_id = f"fake-{len(self.txns) + 1}"
        code = self.DECLINES.get(number)
        self.txns[txn_id] = {"amount": request.amount_kopecks, "pan": mask(number), "refunded": 0,
                                 "status": "declined" if code else "pending", "tries": 3,
                                 "timeout": number[-4:] if number[-4:] in ("3238", "3246") else ""}
        if code:
            status = "error" if code == g.PROCESSING_ERROR else "declined"
            response = g.AuthorizeResponse(g.AuthorizeStatus(status), txn_id, decline_code=code,
                                           decline_message_ru=g.decline_message(code))
        else:
            response = g.AuthorizeResponse(g.AuthorizeStatus.OTP_REQUIRED, txn_id, "tok-fake",
                                           masked_pan=mask(number))
            if self.otp_sink:
                self.otp_sink(txn_id, self.OTP)
        self.keys[request.idempotency_key] = response
        return response

    def confirm(self, request: g.ConfirmRequest) -> g.ConfirmResponse:
        txn = self.txns[request.gateway_txn_id]
        if txn["status"] == "pending" and request.otp != self.OTP:
            txn["tries"] -= 1
            if txn["tries"]:
                return g.ConfirmResponse(g.ConfirmStatus.OTP_INVALID, request.gateway_txn_id,
                                         attempts_left=txn["tries"])
            txn["status"] = "declined"
        elif txn["status"] == "pending" and txn.get("verify"):
            txn["status"] = "authorized"
        elif txn["status"] == "pending":
            txn["status"] = "declined" if txn["timeout"] == "3246" else "succeeded"
            if txn["status"] == "succeeded":
                self.lines.append(g.SettlementLine(request.gateway_txn_id, "1", txn["pan"],
                                                   txn["amount"], g.Operation.PAYMENT,
                                                   self.clock.now()))
            if txn["timeout"]:
                raise g.GatewayTimeout(request.gateway_txn_id)
        if txn["status"] == "succeeded":
            return g.ConfirmResponse(g.ConfirmStatus.SUCCEEDED, request.gateway_txn_id, "1", "A1")
        if txn["status"] in ("authorized", "reversed"):
            return g.ConfirmResponse(g.ConfirmStatus.AUTHORIZED, request.gateway_txn_id)
        return g.ConfirmResponse(g.ConfirmStatus.DECLINED, request.gateway_txn_id,
                                 decline_code=g.ISSUER_DECLINED)

    def status(self, gateway_txn_id: str) -> g.StatusResponse:
        txn = self.txns.get(gateway_txn_id)
        if txn is None:
            return g.StatusResponse(g.TxnStatus.NOT_FOUND, gateway_txn_id)
        return g.StatusResponse(g.TxnStatus(txn["status"]), gateway_txn_id, txn["amount"],
                                txn["refunded"])

    def refund(self, request: g.RefundRequest) -> g.RefundResponse:
        if request.idempotency_key in self.keys:
            return self.keys[request.idempotency_key]  # type: ignore[return-value]
        txn = self.txns[request.gateway_txn_id]
        left = txn["amount"] - txn["refunded"] if txn["status"] == "succeeded" else 0
        if not 0 < request.amount_kopecks <= left:
            response = g.RefundResponse(g.RefundStatus.DECLINED, request.gateway_txn_id,
                                        request.amount_kopecks, decline_code=g.NOT_REFUNDABLE,
                                        decline_message_ru="Возврат невозможен")
        else:
            txn["refunded"] += request.amount_kopecks
            self.lines.append(g.SettlementLine(request.gateway_txn_id, "2", txn["pan"],
                                               request.amount_kopecks, g.Operation.REFUND,
                                               self.clock.now()))
            response = g.RefundResponse(g.RefundStatus.SUCCEEDED, request.gateway_txn_id,
                                        request.amount_kopecks,
                                        refunded_total_kopecks=txn["refunded"])
        self.keys[request.idempotency_key] = response
        return response

    def settlement_registry(self, day: date) -> list[g.SettlementLine]:
        return [line for line in self.lines if line.time.date() == day]


IMPLEMENTATIONS = [GatewaySimulator, TinyFakeGateway, FileBackedSimulator]


class Harness:
    def __init__(self, factory) -> None:
        self.clock = FrozenClock()
        self.otps: dict[str, str] = {}
        self.gateway: g.AcquiringGateway = factory(self.clock, self.otps.__setitem__)
        self._n = 0

    def authorize(self, number: str = OK_CARD, amount: int = 10_000,
                  key: str | None = None) -> g.AuthorizeResponse:
        self._n += 1
        key = key or f"key-{self._n}"
        card = CardInput(number, 12, 2030, "123", "IVAN IVANOV")
        return self.gateway.tokenize_and_authorize(g.AuthorizeRequest(
            f"pay-{key}", amount, card, None, None, "Оплата счёта", key))

    def verify(self, number: str = OK_CARD, key: str = "check-1") -> g.AuthorizeResponse:
        card = CardInput(number, 12, 2030, "123", "IVAN IVANOV")
        return self.gateway.verify_card(g.VerifyCardRequest(f"bind-{key}", card, key))

    def pay(self, amount: int = 10_000) -> str:
        txn_id = self.authorize(amount=amount).gateway_txn_id
        assert txn_id is not None
        response = self.gateway.confirm(g.ConfirmRequest(txn_id, self.otps[txn_id]))
        assert response.status == "succeeded"
        return txn_id


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda cls: cls.__name__)
def h(request, tmp_path) -> Harness:
    factory = request.param
    if factory is FileBackedSimulator:  # the one that needs a place for its file
        factory = functools.partial(FileBackedSimulator, tmp_path / "bank.pickle")
    return Harness(factory)


def test_success_sends_otp_to_holder_and_confirm_charges(h: Harness) -> None:
    response = h.authorize()
    assert response.status == "otp_required"
    assert response.masked_pan == "411111******1111" and response.card_token
    otp = h.otps[response.gateway_txn_id]
    assert len(otp) == 6 and otp.isdigit()
    assert h.gateway.status(response.gateway_txn_id).status == "pending"
    confirmed = h.gateway.confirm(g.ConfirmRequest(response.gateway_txn_id, otp))
    assert confirmed.status == "succeeded" and confirmed.rrn
    assert h.gateway.status(response.gateway_txn_id).status == "succeeded"


def test_wrong_otp_three_times_declines_and_right_code_no_longer_helps(h: Harness) -> None:
    txn_id = h.authorize().gateway_txn_id
    wrong = "000001" if h.otps[txn_id] != "000001" else "000002"
    first = h.gateway.confirm(g.ConfirmRequest(txn_id, wrong))
    assert (first.status, first.attempts_left) == ("otp_invalid", 2)
    h.gateway.confirm(g.ConfirmRequest(txn_id, wrong))
    assert h.gateway.confirm(g.ConfirmRequest(txn_id, wrong)).status == "declined"
    assert h.gateway.confirm(g.ConfirmRequest(txn_id, h.otps[txn_id])).status == "declined"
    assert h.gateway.status(txn_id).status == "declined"
    assert h.gateway.settlement_registry(h.clock.now().date()) == []


@pytest.mark.parametrize("number, status, code, message", [
    ("4000 0000 0000 0002", "declined", g.ISSUER_DECLINED, "Отказ банка-эмитента"),
    ("4000 0000 0000 9995", "declined", g.INSUFFICIENT_FUNDS, "Недостаточно средств"),
    ("4000 0000 0000 0119", "error", g.PROCESSING_ERROR, None),
])
def test_declines_are_answers_with_a_code_and_no_otp(h: Harness, number, status, code,
                                                     message) -> None:
    response = h.authorize(number)
    assert (response.status, response.decline_code) == (status, code)
    assert response.decline_message_ru and (message is None or response.decline_message_ru == message)
    assert response.gateway_txn_id not in h.otps


def test_same_idempotency_key_returns_same_answer_and_charges_once(h: Harness) -> None:
    first = h.authorize(key="same")
    again = h.authorize(key="same")
    assert again == first and len(h.otps) == 1
    h.gateway.confirm(g.ConfirmRequest(first.gateway_txn_id, h.otps[first.gateway_txn_id]))
    repeat = h.gateway.confirm(g.ConfirmRequest(first.gateway_txn_id,
                                                h.otps[first.gateway_txn_id]))
    assert repeat.status == "succeeded"
    assert len(h.gateway.settlement_registry(h.clock.now().date())) == 1


@pytest.mark.parametrize("number, real_outcome", [
    ("4000 0000 0000 3238", "succeeded"), ("4000 0000 0000 3246", "declined")])
def test_time_out_at_charge_is_resolved_by_status(h: Harness, number, real_outcome) -> None:
    txn_id = h.authorize(number).gateway_txn_id
    with pytest.raises(g.GatewayTimeout) as lost:
        h.gateway.confirm(g.ConfirmRequest(txn_id, h.otps[txn_id]))
    assert lost.value.gateway_txn_id == txn_id
    assert h.gateway.status(txn_id).status == real_outcome
    charged = real_outcome == "succeeded"
    assert len(h.gateway.settlement_registry(h.clock.now().date())) == int(charged)


def test_refunds_never_exceed_what_was_charged(h: Harness) -> None:
    txn_id = h.pay(10_000)
    assert h.gateway.refund(g.RefundRequest(txn_id, 6_000, "r1")).status == "succeeded"
    too_much = h.gateway.refund(g.RefundRequest(txn_id, 4_001, "r2"))
    assert too_much.status == "declined" and too_much.decline_message_ru
    again = h.gateway.refund(g.RefundRequest(txn_id, 6_000, "r1"))
    assert again.status == "succeeded"
    rest = h.gateway.refund(g.RefundRequest(txn_id, 4_000, "r3"))
    assert (rest.status, rest.refunded_total_kopecks) == ("succeeded", 10_000)
    assert h.gateway.status(txn_id).refunded_kopecks == 10_000


def test_declined_payment_cannot_be_refunded(h: Harness) -> None:
    txn_id = h.authorize("4000 0000 0000 0002").gateway_txn_id
    assert h.gateway.refund(g.RefundRequest(txn_id, 1, "r")).status == "declined"


def test_settlement_registry_lists_the_days_payments_and_refunds(h: Harness) -> None:
    txn_id = h.pay(25_000)
    h.gateway.refund(g.RefundRequest(txn_id, 5_000, "r1"))
    h.authorize("4000 0000 0000 0002")
    lines = h.gateway.settlement_registry(h.clock.now().date())
    assert [(line.gateway_txn_id, line.operation, line.amount_kopecks, line.masked_pan)
            for line in lines] == [(txn_id, "payment", 25_000, "411111******1111"),
                                   (txn_id, "refund", 5_000, "411111******1111")]
    assert all(line.rrn for line in lines)
    assert h.gateway.settlement_registry(h.clock.now().date() + timedelta(days=1)) == []


def test_unknown_transaction_is_not_found(h: Harness) -> None:
    assert h.gateway.status("nope").status == "not_found"


# --- the card check («Способы оплаты»: a card bound without a payment) ---------------

def test_card_check_holds_one_rouble_behind_the_otp_and_reverse_releases_it(h: Harness) -> None:
    response = h.verify()
    assert response.status == "otp_required" and response.card_token
    assert response.masked_pan == "411111******1111"
    txn_id = response.gateway_txn_id
    assert h.verify() == response and len(h.otps) == 1  # same key, same answer
    confirmed = h.gateway.confirm(g.ConfirmRequest(txn_id, h.otps[txn_id]))
    assert confirmed.status == "authorized"
    held = h.gateway.status(txn_id)
    assert (held.status, held.amount_kopecks) == ("authorized", 100)
    released = h.gateway.reverse(txn_id)
    assert (released.status, released.amount_kopecks) == ("reversed", 100)
    assert h.gateway.reverse(txn_id).status == "reversed"  # repeating releases nothing more
    assert h.gateway.status(txn_id).status == "reversed"
    assert h.gateway.refund(g.RefundRequest(txn_id, 100, "r-check")).status == "declined"
    assert h.gateway.settlement_registry(h.clock.now().date()) == []


def test_card_check_with_wrong_otp_three_times_is_declined_and_holds_nothing(h: Harness) -> None:
    txn_id = h.verify().gateway_txn_id
    wrong = "000001" if h.otps[txn_id] != "000001" else "000002"
    for _ in range(3):
        answer = h.gateway.confirm(g.ConfirmRequest(txn_id, wrong))
    assert answer.status == "declined"
    assert h.gateway.status(txn_id).status == "declined"
    refused = h.gateway.reverse(txn_id)
    assert (refused.status, refused.decline_code) == ("declined", g.NOT_REVERSIBLE)


def test_card_check_of_a_declined_card_sends_no_otp(h: Harness) -> None:
    response = h.verify("4000 0000 0000 0002")
    assert (response.status, response.decline_code) == ("declined", g.ISSUER_DECLINED)
    assert response.gateway_txn_id not in h.otps


def test_a_payment_cannot_be_reversed(h: Harness) -> None:
    txn_id = h.pay(10_000)
    assert h.gateway.reverse(txn_id).status == "declined"
    assert h.gateway.status(txn_id).status == "succeeded"
    assert len(h.gateway.settlement_registry(h.clock.now().date())) == 1
