"""Pure rules for a customer's data (no database)."""
from __future__ import annotations

import secrets
import string

import pytest
from hypothesis import given, settings, strategies as st

from core.security import codes
from core.customers.rules import (format_phone, normalize_code_word, normalize_email,
                                  normalize_phone, validate_password)
from core.errors import ValidationError

KEY = b"unit-test-hmac-key"


# --- phone -------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["+7 (999) 123-45-67", "8 999 123 45 67", "9991234567",
                                 "+79991234567", "  8(999)123-45-67  "])
def test_common_ways_of_writing_a_mobile_normalise_to_e164(raw):
    assert normalize_phone(raw) == "+79991234567"


@pytest.mark.parametrize("raw", [
    pytest.param("12345", id="too-short"),
    pytest.param("+7 495 123-45-67", id="moscow-landline"),
    pytest.param("+7 700 123 45 67", id="kazakh-mobile"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("телефон", id="letters"),
    pytest.param("+1 202 555 0143", id="us-number"),
    pytest.param("9" * 10_000, id="10000-digits"),
    pytest.param("x" * 10_000, id="10000-letters"),
])
def test_bad_phone_is_refused_naming_the_field(raw):
    with pytest.raises(ValidationError) as error:
        normalize_phone(raw)
    assert str(error.value).startswith("Телефон:")
    assert error.value.field == "phone"


def test_foreign_number_written_with_its_country_code_is_not_turned_into_a_russian_one():
    with pytest.raises(ValidationError):
        normalize_phone("+960 712 3456")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_any_mobile_normalises_the_same_in_every_common_format(d):
    written = ["+7 9" + d, "8 9" + d, "8(9" + d[:2] + ")" + d[2:], "+7 (9" + d[:2] + ") " + d[2:]]
    results = set()
    for raw in written:
        try:
            results.add(normalize_phone(raw))
        except ValidationError as error:
            assert str(error).startswith("Телефон:")
            results.add(None)
    assert len(results) == 1, (written, results)
    value = results.pop()
    if value is not None:
        assert value == "+79" + d


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_formatting_then_normalising_a_valid_phone_is_identity(d):
    try:
        phone = normalize_phone("+79" + d)
    except ValidationError:
        return
    assert normalize_phone(format_phone(phone)) == phone


def test_format_phone_groups_digits():
    assert format_phone("+79991234567") == "+7 999 123-45-67"


# --- e-mail ------------------------------------------------------------------

def test_email_is_lower_cased():
    assert normalize_email("Ivan@Mail.RU") == "ivan@mail.ru"
    assert normalize_email("  ivan@mail.ru ") == "ivan@mail.ru"


@pytest.mark.parametrize("raw", [
    pytest.param("ivan.mail.ru", id="no-at"),
    pytest.param("", id="empty"),
    pytest.param("ivan@", id="no-domain"),
    pytest.param("@mail.ru", id="no-local-part"),
    pytest.param("a" * 10_000, id="10000-chars-no-at"),
    pytest.param("a" * 9_990 + "@mail.ru", id="10000-chars"),
])
def test_bad_email_is_refused_naming_the_field(raw):
    with pytest.raises(ValidationError) as error:
        normalize_email(raw)
    assert str(error.value).startswith("E-mail:")


# --- password ----------------------------------------------------------------

@pytest.mark.parametrize("raw, problem", [
    ("abc", "не короче 6"), ("abcde", "не короче 6"),
    ("пароль123", "латинские"), ("abc 123", "латинские"), ("abc-123", "латинские"),
    ("password", "распространённый"), ("qwerty123", "распространённый"),
    ("123456", "распространённый"), ("PassWord", "распространённый"),
    ("", "обязательное"), ("a1" * 64 + "b", "не длиннее 128"),
])
def test_bad_password_is_refused_with_the_rule(raw, problem):
    with pytest.raises(ValidationError) as error:
        validate_password(raw, min_length=6)
    assert str(error.value).startswith("Пароль:")
    assert problem in str(error.value)


def test_longest_random_latin_password_is_accepted():
    alphabet = string.ascii_letters + string.digits
    password = "".join(secrets.choice(alphabet) for _ in range(128))
    assert validate_password(password, min_length=6) == password


def test_min_length_setting_is_respected():
    with pytest.raises(ValidationError, match="^Пароль: не короче 8"):
        validate_password("Zx9kq3v", min_length=8)
    assert validate_password("Zx9kq3vb", min_length=8) == "Zx9kq3vb"
    assert validate_password("Zx9kq3", min_length=6) == "Zx9kq3"


# --- code word ---------------------------------------------------------------

@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "ab", "я" * 65])
def test_bad_code_word_is_refused_naming_the_field(raw):
    with pytest.raises(ValidationError) as error:
        normalize_code_word(raw)
    assert str(error.value).startswith("Кодовое слово:")


@pytest.mark.parametrize("a, b", [
    ("  Ромашка  ", "ромашка"), ("Ёлка", "елка"), ("ЁЛКА", "ёлка"),
    ("Красная   шапочка", "красная шапочка"),
    ("Е\u0308лка", "елка"),  # decomposed «Ё»
])
def test_code_word_compares_the_way_people_mean_it(a, b):
    assert normalize_code_word(a) == normalize_code_word(b)


def test_different_code_words_stay_different():
    assert normalize_code_word("Ромашка") != normalize_code_word("Ромашки")


# --- one-time codes ----------------------------------------------------------

def test_code_hash_is_bound_to_owner_request_and_purpose():
    base = codes.code_hash(KEY, "activation", 1, 10, "1234")
    assert base != codes.code_hash(KEY, "activation", 2, 10, "1234")
    assert base != codes.code_hash(KEY, "activation", 1, 11, "1234")
    assert base != codes.code_hash(KEY, "payment", 1, 10, "1234")
    assert base != codes.code_hash(b"another-key", "activation", 1, 10, "1234")
    assert "1234" not in base


def test_code_matches_only_its_own_request():
    stored = codes.code_hash(KEY, "activation", 1, 10, "1234")
    assert codes.code_matches(KEY, stored, "activation", 1, 10, "1234")
    assert codes.code_matches(KEY, stored, "activation", 1, 10, " 1234 ")
    assert not codes.code_matches(KEY, stored, "activation", 1, 10, "1235")
    assert not codes.code_matches(KEY, stored, "activation", 1, 11, "1234")
    assert not codes.code_matches(KEY, stored, "activation", 2, 10, "1234")


def test_generated_codes_have_the_requested_digits():
    for _ in range(200):
        code = codes.generate_code(4)
        assert len(code) == 4 and code.isdigit()


def test_session_token_digest_is_not_the_token():
    token, digest = codes.new_token()
    assert digest == codes.token_digest(token) and token not in digest
