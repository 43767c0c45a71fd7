"""Pure rules for providers and personal accounts (no database)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from core.billing.account_rules import (AccountNotInRegister, OwnershipProofFailed,
                                        clean_binding_name, commission_text, example_number,
                                        format_percent, inn_checksum_ok, mask_payer,
                                        normalize_account_number, normalize_contact_phone,
                                        parse_commission_min, parse_commission_percent,
                                        validate_account_pattern, validate_inn,
                                        validate_service_kind)
from core.errors import DomainError, ValidationError

# --- account numbers -----------------------------------------------------------

TEN = (r"\d{10}", "10 цифр")
LETTERS = (r"ЛС\d{6}", "ЛС и 6 цифр")
RANGE = (r"\d{8,12}", "от 8 до 12 цифр")


@pytest.mark.parametrize("rule, raw, expected", [
    (TEN, "1234567890", "1234567890"),
    (TEN, " 12 3456 7890 ", "1234567890"),
    (TEN, "12-345-678-90", "1234567890"),
    (TEN, "12\u00a0345\u00a0678\u00a090", "1234567890"),  # non-breaking spaces from a PDF
    (TEN, "12–345—678−90", "1234567890"),  # en dash, em dash, minus sign
    (LETTERS, "ЛС-123456", "ЛС123456"),
    (LETTERS, "лс 123 456", "ЛС123456"),  # letters upper-cased when that is what fits
    (RANGE, "1234 5678", "12345678"),
    (RANGE, "123456789012", "123456789012"),
])
def test_account_number_as_printed_on_the_receipt_is_normalised(rule, raw, expected):
    assert normalize_account_number(raw, *rule) == expected


@pytest.mark.parametrize("rule, raw", [
    pytest.param(TEN, "", id="empty"),
    pytest.param(TEN, "   ", id="blank"),
    pytest.param(TEN, "123456789", id="too-short"),
    pytest.param(TEN, "12345678901", id="too-long"),
    pytest.param(TEN, "12345abcde", id="letters"),
    pytest.param(TEN, "1234.567890", id="dot"),
    pytest.param(TEN, "1" * 10_000, id="10000-digits"),
    pytest.param(LETTERS, "123456", id="no-prefix"),
    pytest.param(LETTERS, "AB123456", id="wrong-prefix"),
    pytest.param(RANGE, "1234567", id="below-range"),
    pytest.param(RANGE, "1234567890123", id="above-range"),
])
def test_bad_account_number_is_refused_with_the_providers_hint_and_an_example(rule, raw):
    with pytest.raises(ValidationError) as error:
        normalize_account_number(raw, *rule)
    message = str(error.value)
    assert message.startswith("Лицевой счёт: ") and rule[1] in message
    assert "например " + example_number(rule[0]) in message
    assert error.value.field == "number"


@pytest.mark.parametrize("pattern, example", [
    (r"\d{10}", "1234567890"), (r"[0-9]{3}", "123"), (r"ЛС\d{8}", "ЛС12345678"),
    (r"\d{8,12}", "12345678"), (r"[A-Z]{2}\d{4}", "AA1234"), (r"(\d{2}|X)\d", "123"),
    (r"[^x]+", None),  # no sure example: the message gives the hint alone
])
def test_example_number_fits_the_pattern(pattern, example):
    assert example_number(pattern) == example


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10),
       st.lists(st.sampled_from([" ", "-", "\u00a0", "–"]), min_size=10, max_size=10))
def test_any_ten_digit_number_survives_any_mix_of_spaces_and_dashes(digits, noise):
    written = "".join(d + n for d, n in zip(digits, noise))
    assert normalize_account_number(written, *TEN) == digits


# --- binding name --------------------------------------------------------------

def test_binding_name_collapses_spaces():
    assert clean_binding_name("  Квартира   на  Ленина, 5 ") == "Квартира на Ленина, 5"
    assert clean_binding_name("а" * 100) == "а" * 100


@pytest.mark.parametrize("raw, rule", [("", "обязательное поле"), ("  \t ", "обязательное поле"),
                                       ("а" * 101, "не длиннее 100 символов")])
def test_bad_binding_name_is_refused(raw, rule):
    with pytest.raises(ValidationError) as error:
        clean_binding_name(raw)
    assert str(error.value).startswith(f"Название счёта: {rule}")
    assert error.value.field == "name"


# --- INN -----------------------------------------------------------------------

@pytest.mark.parametrize("inn", ["7707083893", "7736050003", "7728168971", "7702070139",
                                 "7710140679", "5902012349"])
def test_real_organisation_inns_pass_the_checksum(inn):
    assert inn_checksum_ok(inn)
    assert validate_inn(f" {inn[:4]} {inn[4:]} ") == inn


@pytest.mark.parametrize("raw, rule", [
    ("", "обязательное поле"),
    ("7707083894", "неверная контрольная цифра"),
    ("7707083890", "неверная контрольная цифра"),
    ("1234567890", "неверная контрольная цифра"),
    ("770708389", "10 цифр"),
    ("770708389312", "10 цифр"),  # 12 digits: a person's INN, not an organisation's
    ("77070838ab", "10 цифр"),
])
def test_bad_inn_is_refused(raw, rule):
    with pytest.raises(ValidationError) as error:
        validate_inn(raw)
    assert str(error.value).startswith(f"ИНН: {rule}")
    assert error.value.field == "inn"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_control_digit_fits_any_nine_digits(body):
    assert sum(inn_checksum_ok(body + str(d)) for d in range(10)) == 1


# --- masking -------------------------------------------------------------------

@pytest.mark.parametrize("name, masked", [
    ("Иванов Иван Иванович", "Ив***в И. И."),
    ("  Ёжикова   алёна  Фёдоровна ", "Ёж***а А. Ф."),
    ("Петров-Водкин Кузьма Сергеевич", "Пе***н К. С."),
    ("Ли Мин", "Л*** М."),
    ("Ким", "К***"),
    ("Смирнова Анна", "См***а А."),
    ("Иванов И. И.", "Ив***в И. И."),
])
def test_payer_name_is_masked(name, masked):
    assert mask_payer(name) == masked


def test_masking_never_keeps_the_whole_surname_or_first_name():
    for name in ["Иванов Иван Иванович", "Ли Мин", "Ким Ир Сен", "Оглы Али"]:
        masked = mask_payer(name)
        assert all(part not in masked for part in name.split() if len(part) > 1)


# --- provider fields -----------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [("1,5", 150), ("1.5", 150), ("0", 0), ("", 0),
                                           ("2,25 %", 225), ("100", 10_000), (" 3 ", 300)])
def test_commission_percent_becomes_basis_points(raw, expected):
    assert parse_commission_percent(raw) == expected


@pytest.mark.parametrize("raw", ["-1", "1,555", "101", "abc", "1,5,5", "0x10"])
def test_bad_commission_percent_is_refused(raw):
    with pytest.raises(ValidationError) as error:
        parse_commission_percent(raw)
    assert str(error.value).startswith("Комиссия, %:")


@pytest.mark.parametrize("raw, kopecks", [("10", 1000), ("12,50", 1250), ("", 0), ("1 000", 100_000)])
def test_commission_minimum_is_read_in_rubles(raw, kopecks):
    assert parse_commission_min(raw) == kopecks


@pytest.mark.parametrize("raw", ["-5", "1000,01", "десять", "1,234"])
def test_bad_commission_minimum_is_refused(raw):
    with pytest.raises(ValidationError) as error:
        parse_commission_min(raw)
    assert str(error.value).startswith("Минимальная комиссия, ₽:")


@pytest.mark.parametrize("bp, minimum, text", [
    (150, 1000, "1,5\u00a0%, не менее 10,00\u00a0₽"), (125, 0, "1,25\u00a0%"),
    (0, 500, "5,00\u00a0₽ с платежа"), (0, 0, "без комиссии"), (1000, 0, "10\u00a0%"),
])
def test_commission_in_words(bp, minimum, text):
    assert commission_text(bp, minimum) == text


def test_percent_is_written_without_trailing_zeros():
    assert [format_percent(bp) for bp in (0, 5, 50, 100, 150, 1999)] == \
        ["0", "0,05", "0,5", "1", "1,5", "19,99"]


@pytest.mark.parametrize("raw, rule", [
    ("", "обязательное поле"), (r"(\d{10}", "это не регулярное выражение"),
    (r"[0-9", "это не регулярное выражение"),
    (r"\d*", "правило не должно принимать пустой номер"), ("x" * 101, "не длиннее 100"),
])
def test_bad_account_pattern_is_refused(raw, rule):
    with pytest.raises(ValidationError) as error:
        validate_account_pattern(raw)
    assert str(error.value).startswith(f"Правило номера счёта: {rule}")


@pytest.mark.parametrize("raw, expected", [("8 800 100-39-00", "+7 800 100-39-00"),
                                           ("(342) 212-00-00", "+7 342 212-00-00"),
                                           ("+7 912 345 67 89", "+7 912 345-67-89")])
def test_provider_phone_may_be_a_landline_or_toll_free(raw, expected):
    assert normalize_contact_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "+1 202 555 0143", "телефон"])
def test_bad_provider_phone_is_refused(raw):
    with pytest.raises(ValidationError) as error:
        normalize_contact_phone(raw)
    assert str(error.value).startswith("Телефон поставщика:")


def test_service_kind_is_one_of_the_known_kinds():
    assert validate_service_kind(" Water ") == "water"
    with pytest.raises(ValidationError, match="^Вид услуг: один из"):
        validate_service_kind("пиво")


def test_binding_errors_are_domain_errors_with_russian_messages():
    assert isinstance(AccountNotInRegister("Водоканал"), DomainError)
    assert str(AccountNotInRegister("Водоканал")).startswith(
        "Лицевой счёт: такого счёта нет у поставщика «Водоканал»")
    assert OwnershipProofFailed(3).attempts_left == 3
    assert "осталось попыток: 3" in str(OwnershipProofFailed(3))
