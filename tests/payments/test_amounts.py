"""Amounts typed for an arbitrary payment, and the provider's commission."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from core.errors import ValidationError
from core.money import Money
from core.payments.amounts import (
    MIN_PAYMENT, commission, parse_payment_amount, total_with_commission,
)

MAXIMUM = Money(1_500_000)  # 15 000,00 ₽


@pytest.mark.parametrize(("text", "kopecks"), [
    ("1 234,56", 123_456),
    ("1234.56", 123_456),
    ("100", 10_000),
    ("1", 100),
    ("1,00", 100),
    ("1,5", 150),
    ("15 000,00", 1_500_000),
    ("15\u00a0000", 1_500_000),
    (" 42,10 ", 4_210),
])
def test_good_amounts(text, kopecks):
    assert parse_payment_amount(text, maximum=MAXIMUM) == Money(kopecks)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "введите сумму"),
    ("   ", "введите сумму"),
    (None, "введите сумму"),
    ("0", "должна быть больше нуля"),
    ("0,00", "должна быть больше нуля"),
    ("-5", "должна быть больше нуля"),
    ("-0", "должна быть больше нуля"),
    ("1,005", "не больше двух знаков после запятой"),
    ("10.999", "не больше двух знаков после запятой"),
    ("1e3", "введите число, например 1 234,56"),
    ("abc", "введите число, например 1 234,56"),
    ("NaN", "введите число, например 1 234,56"),
    ("inf", "введите число, например 1 234,56"),
    ("-Infinity", "введите число, например 1 234,56"),
    ("+5", "введите число, например 1 234,56"),
    ("1,2,3", "введите число, например 1 234,56"),
    (",5", "введите число, например 1 234,56"),
    ("5,", "введите число, например 1 234,56"),
    ("１００", "введите число, например 1 234,56"),
    ("0,99", f"не меньше {MIN_PAYMENT.format()}"),
    ("0,01", f"не меньше {MIN_PAYMENT.format()}"),
    ("15 000,01", f"не больше {MAXIMUM.format()}"),
    ("1000000", f"не больше {MAXIMUM.format()}"),
    ("9" * 40 + ",99", f"не больше {MAXIMUM.format()}"),
    ("-" + "9" * 40, "должна быть больше нуля"),
])
def test_bad_amounts_are_refused_with_a_clear_message(text, problem):
    with pytest.raises(ValidationError) as caught:
        parse_payment_amount(text, maximum=MAXIMUM)
    assert str(caught.value) == f"Сумма: {problem}"
    assert caught.value.field == "amount"


def test_the_maximum_is_shown_the_russian_way():
    with pytest.raises(ValidationError) as caught:
        parse_payment_amount("20000", maximum=MAXIMUM)
    assert str(caught.value) == "Сумма: не больше 15\u00a0000,00\u00a0₽"


@pytest.mark.parametrize(("amount", "bp", "minimum", "expected"), [
    (Money(100_000), 150, 0, Money(1_500)),     # 1,5 % of 1 000 ₽ = 15 ₽
    (Money(100_000), 150, 3_000, Money(3_000)), # but not less than 30 ₽
    (Money(3_333), 150, 0, Money(50)),          # 49,995 kopecks -> 50 (half up)
    (Money(3_300), 150, 0, Money(50)),          # 49,5 -> 50
    (Money(3_299), 150, 0, Money(49)),          # 49,485 -> 49
    (Money(100_000), 0, 0, Money(0)),           # no commission at all
    (Money(100_000), 0, 1_000, Money(1_000)),   # only a fixed minimum
])
def test_commission_rounds_half_up_and_respects_the_minimum(amount, bp, minimum, expected):
    assert commission(amount, bp, minimum) == expected


def test_total_with_commission_adds_it():
    assert total_with_commission(Money(100_000), 150, 1_000) == Money(101_500)
    assert total_with_commission(Money(10_000), 150, 1_000) == Money(11_000)


@pytest.mark.parametrize(("bp", "minimum"), [(-1, 0), (0, -1)])
def test_a_negative_commission_rule_is_a_programming_error(bp, minimum):
    with pytest.raises(ValueError):
        commission(Money(100), bp, minimum)


@given(amount=st.integers(min_value=0, max_value=10**12),
       bp=st.integers(min_value=0, max_value=10_000),
       minimum=st.integers(min_value=0, max_value=100_000))
def test_commission_is_never_negative_never_below_minimum_and_close_to_exact(amount, bp, minimum):
    result = commission(Money(amount), bp, minimum)
    assert result.kopecks >= 0
    assert result.kopecks >= minimum
    exact = Decimal(amount) * bp / Decimal(10_000)
    if result.kopecks > minimum:
        assert abs(Decimal(result.kopecks) - exact) <= Decimal("0.5")
    assert total_with_commission(Money(amount), bp, minimum) == Money(amount) + result


@given(st.integers(min_value=MIN_PAYMENT.kopecks, max_value=MAXIMUM.kopecks))
def test_any_amount_in_range_formatted_the_russian_way_parses_back(kopecks):
    text = Money(kopecks).format().replace("₽", "")
    assert parse_payment_amount(text, maximum=MAXIMUM) == Money(kopecks)
