"""Card input is checked before anything goes to the gateway, and never leaks."""
from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, strategies as st

from core.clock import FrozenClock
from core.errors import ValidationError
from core.payments import gateway as g
from core.payments.cards import Brand, CardInput, detect_brand, luhn_ok, mask
from core.payments.simulator import GatewaySimulator

TODAY = date(2026, 11, 25)
LONG_DIGITS = re.compile(r"\d{13,19}")


def card(number="4111 1111 1111 1111", month=12, year=2030, cvv="123") -> CardInput:
    return CardInput(number, month, year, cvv, "IVAN IVANOV")


@pytest.mark.parametrize("number", ["4111111111111111", "4111 1111 1111 1111",
                                    "5555555555554444", "2200000000000004", "4222222222222",
                                    "2221000000000009"])
def test_luhn_valid_numbers_pass(number: str) -> None:
    assert card(number).validate(TODAY).number == number.replace(" ", "")


@pytest.mark.parametrize("number, problem", [
    ("4111 1111 1111 1112", "Номер карты: проверьте номер"),
    ("4111", "Номер карты: от 13 до 19 цифр"),
    ("41111111111111111111", "Номер карты: от 13 до 19 цифр"),
    ("4111-1111-abcd-1111", "Номер карты: только цифры"),
    ("", "Номер карты: только цифры"),
])
def test_bad_numbers_are_refused_with_the_field_label(number: str, problem: str) -> None:
    with pytest.raises(ValidationError) as error:
        card(number).validate(TODAY)
    assert str(error.value) == problem


@pytest.mark.parametrize("number, brand", [
    ("4111111111111111", Brand.VISA), ("5105105105105100", Brand.MASTERCARD),
    ("5555555555554444", Brand.MASTERCARD), ("2221000000000009", Brand.MASTERCARD),
    ("2720990000000007", Brand.MASTERCARD), ("2200000000000004", Brand.MIR),
    ("2204000000000000", Brand.MIR), ("3530111333300000", None), ("2205000000000000", None),
])
def test_brand_by_first_digits(number: str, brand: Brand | None) -> None:
    assert detect_brand(number) == brand


@pytest.mark.parametrize("month, year, today, ok", [
    (11, 2026, date(2026, 11, 30), True),  # valid through the last day of its month
    (11, 2026, date(2026, 12, 1), False),
    (10, 2026, date(2026, 11, 1), False),
    (12, 26, date(2026, 12, 31), True),  # two-digit year
    (1, 2027, date(2026, 12, 31), True),
])
def test_expiry_edge_at_month_end(month: int, year: int, today: date, ok: bool) -> None:
    if ok:
        card(month=month, year=year).validate(today)
    else:
        with pytest.raises(ValidationError, match="Срок действия карты: карта просрочена"):
            card(month=month, year=year).validate(today)


@pytest.mark.parametrize("month", [0, 13])
def test_month_must_be_1_to_12(month: int) -> None:
    with pytest.raises(ValidationError, match="месяц от 01 до 12"):
        card(month=month).validate(TODAY)


@pytest.mark.parametrize("cvv", ["12", "1234", "12a", "", " "])
def test_cvv_is_three_digits_and_never_echoed(cvv: str) -> None:
    with pytest.raises(ValidationError) as error:
        card(cvv=cvv).validate(TODAY)
    assert str(error.value) == "CVV: три цифры с обратной стороны карты"
    assert error.value.field == "cvv"


@pytest.mark.parametrize("number, masked", [
    ("4111 1111 1111 1111", "411111******1111"), ("4222222222222", "422222***2222"),
    ("2200000000000004123", "220000*********4123")])
def test_mask_keeps_first_six_and_last_four(number: str, masked: str) -> None:
    assert mask(number) == masked


def test_repr_and_str_of_card_hide_number_and_cvv() -> None:
    text = repr(card(cvv="987")) + str(card(cvv="987"))
    assert "987" not in text and "4111111111111111" not in text
    assert "411111******1111" in text


def _with_check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


@st.composite
def valid_numbers(draw) -> str:
    prefix = draw(st.sampled_from(["4", "51", "55", "2221", "2720", "2200", "2204"]))
    length = draw(st.integers(13, 19)) if prefix == "4" else 16
    body = draw(st.text("0123456789", min_size=length - 1 - len(prefix),
                        max_size=length - 1 - len(prefix)))
    return _with_check_digit(prefix + body)


@given(number=valid_numbers(), cvv=st.text("0123456789", min_size=3, max_size=3))
def test_no_object_of_a_payment_shows_the_number_or_cvv(number: str, cvv: str) -> None:
    clock, otps = FrozenClock(), {}
    gateway = GatewaySimulator(clock, otps.__setitem__)
    entered = CardInput(number, 12, 2030, cvv, "IVAN IVANOV").validate(clock.now().date())
    request = g.AuthorizeRequest("pay-1", 5_000, entered, None, None, "Счёт", "k1")
    objects: list[object] = [entered, request]
    response = gateway.tokenize_and_authorize(request)
    objects.append(response)
    if response.status == "otp_required":
        confirm = g.ConfirmRequest(response.gateway_txn_id, otps[response.gateway_txn_id])
        objects.append(confirm)
        try:
            objects.append(gateway.confirm(confirm))
        except g.GatewayTimeout as lost:
            objects.append(lost)
        again = g.AuthorizeRequest("pay-2", 5_000, None, response.card_token, cvv, "Счёт", "k2")
        objects += [again, gateway.tokenize_and_authorize(again)]
    objects.append(gateway.status(response.gateway_txn_id))
    objects += gateway.settlement_registry(clock.now().date())
    for obj in objects:
        for text in (repr(obj), str(obj)):
            assert not LONG_DIGITS.search(text), text
            assert f"cvv='{cvv}'" not in text and f"'{cvv}'" not in text
