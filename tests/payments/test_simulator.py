"""Simulator-only behaviour: test cards, switches, OTP lifetime, saved cards."""
from __future__ import annotations

import pytest

from core.clock import FrozenClock
from core.errors import ValidationError
from core.payments import gateway as g
from core.payments.cards import CardInput
from core.payments.simulator import OTP_LIFETIME, TEST_CARDS, GatewaySimulator, Scenario


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def otps() -> dict[str, str]:
    return {}


@pytest.fixture
def sim(clock, otps) -> GatewaySimulator:
    return GatewaySimulator(clock, otps.__setitem__)


def authorize(sim, number="4111111111111111", key="k1", cvv="123", amount=10_000):
    card = CardInput(number, 12, 2030, cvv)
    return sim.tokenize_and_authorize(
        g.AuthorizeRequest(f"pay-{key}", amount, card, None, None, "Счёт", key))


def test_every_documented_test_card_is_in_the_docstring() -> None:
    import core.payments.simulator as module
    for number in TEST_CARDS:
        assert " ".join(number[i:i + 4] for i in range(0, 16, 4)) in module.__doc__


@pytest.mark.parametrize("number, code", [
    ("4000000000000127", g.INCORRECT_CVV), ("4000000000000069", g.EXPIRED_CARD)])
def test_issuer_side_declines(sim, number, code) -> None:
    response = authorize(sim, number)
    assert (response.status, response.decline_code) == ("declined", code)
    assert response.card_token is None and response.masked_pan


def test_mir_success_card(sim, otps) -> None:
    response = authorize(sim, "2200 0000 0000 0004")
    assert (response.status, response.brand) == ("otp_required", "mir")
    assert sim.confirm(g.ConfirmRequest(response.gateway_txn_id,
                                        otps[response.gateway_txn_id])).status == "succeeded"


def test_invalid_card_is_refused_before_anything_happens(sim, otps) -> None:
    with pytest.raises(ValidationError, match="Номер карты: проверьте номер"):
        authorize(sim, "4111111111111112")
    assert otps == {}


def test_expired_otp_declines_the_transaction(sim, clock, otps) -> None:
    txn_id = authorize(sim).gateway_txn_id
    clock.advance(seconds=OTP_LIFETIME.total_seconds())
    assert sim.confirm(g.ConfirmRequest(txn_id, otps[txn_id])).status == "otp_expired"
    assert sim.status(txn_id).status == "declined"


def test_otp_of_one_payment_does_not_confirm_another(sim, otps) -> None:
    first = authorize(sim, key="a").gateway_txn_id
    second = authorize(sim, key="b").gateway_txn_id
    if otps[first] != otps[second]:
        assert sim.confirm(g.ConfirmRequest(second, otps[first])).status == "otp_invalid"


def test_saved_card_pays_with_token_and_cvv_only(sim, otps) -> None:
    token = authorize(sim).card_token
    again = sim.tokenize_and_authorize(
        g.AuthorizeRequest("pay-2", 500, None, token, "321", "Счёт", "k2"))
    assert (again.status, again.masked_pan, again.card_token) == (
        "otp_required", "411111******1111", token)
    with pytest.raises(ValidationError, match="CVV"):
        sim.tokenize_and_authorize(g.AuthorizeRequest("pay-3", 500, None, token, "", "С", "k3"))
    unknown = sim.tokenize_and_authorize(
        g.AuthorizeRequest("pay-4", 500, None, "tok_nope", "321", "Счёт", "k4"))
    assert unknown.decline_code == g.UNKNOWN_TOKEN


def test_simulator_keeps_neither_number_nor_cvv(sim) -> None:
    authorize(sim, cvv="987")
    state = repr(vars(sim)) + repr([vars(t) for t in sim._txns.values()])
    assert "4111111111111111" not in state
    kept = [value for t in sim._txns.values() for value in (*vars(t).values(), *vars(t.card).values())]
    assert "987" not in kept and "'987'" not in state


def test_same_key_with_another_amount_is_refused(sim) -> None:
    authorize(sim, key="k")
    with pytest.raises(g.IdempotencyKeyReused):
        authorize(sim, key="k", amount=1)


def test_next_call_unavailable_does_nothing(sim, otps) -> None:
    sim.make_next_call_unavailable()
    with pytest.raises(g.GatewayUnavailable):
        authorize(sim)
    assert otps == {}
    assert authorize(sim).status == "otp_required"  # the switch is one-shot


def test_authorize_time_out_resolved_by_repeating_the_key(sim, otps) -> None:
    sim.make_next_call_time_out(charged=True)
    with pytest.raises(g.GatewayTimeout):
        authorize(sim, key="k")
    assert len(otps) == 1
    assert authorize(sim, key="k").gateway_txn_id in otps
    sim.make_next_call_time_out(charged=False)
    with pytest.raises(g.GatewayTimeout):
        authorize(sim, key="k2")
    assert len(otps) == 1


@pytest.mark.parametrize("charged, outcome", [(True, "succeeded"), (False, "declined")])
def test_confirm_time_out_switch(sim, otps, charged, outcome) -> None:
    txn_id = authorize(sim).gateway_txn_id
    sim.make_next_call_time_out(charged=charged)
    with pytest.raises(g.GatewayTimeout):
        sim.confirm(g.ConfirmRequest(txn_id, otps[txn_id]))
    assert sim.status(txn_id).status == outcome
    assert sim.confirm(g.ConfirmRequest(txn_id, otps[txn_id])).status == outcome


def test_refund_time_out_charged_is_not_repeated(sim, otps, clock) -> None:
    txn_id = authorize(sim).gateway_txn_id
    sim.confirm(g.ConfirmRequest(txn_id, otps[txn_id]))
    sim.make_next_call_time_out(charged=True)
    with pytest.raises(g.GatewayTimeout):
        sim.refund(g.RefundRequest(txn_id, 3_000, "r"))
    assert sim.status(txn_id).refunded_kopecks == 3_000
    assert sim.refund(g.RefundRequest(txn_id, 3_000, "r")).refunded_total_kopecks == 3_000
    assert len(sim.settlement_registry(clock.now().date())) == 2


def test_next_payment_decline_switch(sim) -> None:
    sim.make_next_payment_decline(g.INSUFFICIENT_FUNDS)
    response = authorize(sim)
    assert (response.decline_code, response.decline_message_ru) == (
        g.INSUFFICIENT_FUNDS, "Недостаточно средств")
    assert authorize(sim, key="k2").status == "otp_required"


@pytest.mark.parametrize("amount", [0, -5])
def test_refund_amount_must_be_positive(sim, otps, amount) -> None:
    txn_id = authorize(sim).gateway_txn_id
    sim.confirm(g.ConfirmRequest(txn_id, otps[txn_id]))
    assert sim.refund(g.RefundRequest(txn_id, amount, "r")).decline_code == g.INVALID_AMOUNT


def test_scenarios_cover_the_documented_cases() -> None:
    assert set(TEST_CARDS.values()) == set(Scenario)
