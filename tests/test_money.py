"""The one reader of rubles typed or written in files, with each caller's strictness."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from core.money import Money, MoneyFormatError, parse_rubles


@pytest.mark.parametrize("text, kopecks", [
    ("1 234,56", 123_456), ("1234.56", 123_456), ("100", 10_000), ("0,5", 50),
    ("1\u00a0000", 100_000), ("-12,5", -1_250),
])
def test_rubles_as_people_write_them(text: str, kopecks: int) -> None:
    assert parse_rubles(text) == Money(kopecks)
    assert parse_rubles(text, grouped=True) == Money(kopecks)


@pytest.mark.parametrize("text, options, reason", [
    ("", {}, "empty"), ("   ", {"grouped": True}, "empty"),
    ("12a", {}, "not_a_number"), ("1e5", {}, "not_a_number"),
    ("12 34", {"grouped": True}, "not_a_number"),  # spaces only between thousands in files
    ("1,234", {}, "too_precise"), ("1,500", {}, "too_precise"),
    ("-5", {"signed": False}, "negative"),
    ("1" * 16, {}, "too_long"),
])
def test_what_is_not_an_amount_says_why(text: str, options: dict, reason: str) -> None:
    with pytest.raises(MoneyFormatError) as refused:
        parse_rubles(text, **options)
    assert refused.value.reason == reason


def test_spaces_anywhere_in_a_form_and_trailing_zeros_where_allowed() -> None:
    assert parse_rubles("12 34") == Money(123_400)
    assert parse_rubles("1,500", trailing_zeros=True) == Money(150)
    with pytest.raises(MoneyFormatError):
        parse_rubles("1,501", trailing_zeros=True)


@given(st.integers(min_value=-10**14, max_value=10**14))
def test_a_formatted_amount_reads_back(kopecks: int) -> None:
    text = f"{abs(kopecks) // 100:,}".replace(",", " ") + f",{abs(kopecks) % 100:02d}"
    text = ("-" if kopecks < 0 else "") + text
    assert parse_rubles(text, grouped=True) == parse_rubles(text) == Money(kopecks)
