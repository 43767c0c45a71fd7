"""Rules for a customer's data: what a valid phone, e-mail, password, code word is.

Pure functions: they take what a person typed and return the normalised value,
or raise ``ValidationError`` with the field's Russian label and the rule.
"""
from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from core.errors import ValidationError
from core.text import refuse_control_characters

MAX_INPUT = 500  # anything longer than this is refused before any parsing
PHONE_HINT = "введите мобильный номер в формате +7 9XX XXX-XX-XX"
_COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
_PASSWORD_CHARS = re.compile(r"[A-Za-z0-9]+")
_NAME_CHARS = re.compile(r"[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё' \-]*")


class CabinetStatus(str, enum.Enum):
    """A cabinet's state, derived from its activation date and its block rows."""

    PENDING_ACTIVATION = "pending_activation"  # registered, SMS code not yet entered
    ACTIVE = "active"  # may log in and receives notifications
    BLOCKED = "blocked"  # a block is open: no login, no notifications

    @property
    def label(self) -> str:
        return {"pending_activation": "Ожидает активации", "active": "Активен",
                "blocked": "Заблокирован"}[self.value]


def _too_long(label: str, value: str, limit: int, field: str) -> None:
    if len(value) > limit:
        raise ValidationError(label, f"не длиннее {limit} символов", field=field)


def normalize_phone(raw: str) -> str:
    """Any common way of writing a Russian mobile -> ``+7XXXXXXXXXX``."""
    label = "Телефон"
    value = refuse_control_characters(raw, label, "phone").strip()
    if not value:
        raise ValidationError(label, "обязательное поле; " + PHONE_HINT, field="phone")
    _too_long(label, value, 40, "phone")
    digits = re.sub(r"\D", "", value)
    if len(digits) == 10 and digits.startswith("9") and not value.startswith("+"):
        value = "+7" + digits  # "999 123-45-67" without a country prefix
    try:
        parsed = phonenumbers.parse(value, "RU")
    except phonenumbers.NumberParseException:
        raise ValidationError(label, PHONE_HINT, field="phone") from None
    if (parsed.country_code != 7 or not phonenumbers.is_valid_number_for_region(parsed, "RU")
            or phonenumbers.number_type(parsed) != phonenumbers.PhoneNumberType.MOBILE):
        raise ValidationError(label, PHONE_HINT, field="phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str) -> str | None:
    try:
        return normalize_phone(raw)
    except ValidationError:
        return None


def format_phone(phone: str) -> str:
    """``+79991234567`` -> ``+7 999 123-45-67``."""
    d = phone[2:]
    return f"+7 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}" if len(d) == 10 else phone


def normalize_email(raw: str) -> str:
    label = "E-mail"
    value = refuse_control_characters(raw, label, "email").strip()
    if not value:
        raise ValidationError(label, "обязательное поле", field="email")
    _too_long(label, value, 254, "email")
    if "@" not in value:
        raise ValidationError(label, "адрес должен содержать @, например ivanov@mail.ru",
                              field="email")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError(label, "введите адрес в формате ivanov@mail.ru",
                              field="email") from None
    return result.normalized.lower()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def validate_password(raw: str, *, min_length: int, max_length: int = 128,
                      label: str = "Пароль", field: str = "password") -> str:
    """The seed's rule: Latin letters and digits only, at least ``min_length`` of them."""
    value = refuse_control_characters(raw, label, field)
    if not value:
        raise ValidationError(label, "обязательное поле", field=field)
    if len(value) > max_length:
        raise ValidationError(label, f"не длиннее {max_length} символов", field=field)
    if len(value) < min_length:
        raise ValidationError(label, f"не короче {min_length} символов", field=field)
    if not _PASSWORD_CHARS.fullmatch(value):
        raise ValidationError(
            label, "допускаются только латинские буквы и цифры, без пробелов", field=field)
    if value.lower() in common_passwords():
        raise ValidationError(label, "слишком распространённый пароль, придумайте другой",
                              field=field)
    return value


def normalize_code_word(raw: str, *, label: str = "Кодовое слово") -> str:
    """Callers say their code word aloud and agents type it: compare it the way people
    mean it (case, ё/е, extra spaces do not matter)."""
    value = unicodedata.normalize("NFC", refuse_control_characters(raw, label, "code_word")).strip()
    if not value:
        raise ValidationError(label, "обязательное поле", field="code_word")
    _too_long(label, value, 64, "code_word")
    if len(value) < 3:
        raise ValidationError(label, "не короче 3 символов", field="code_word")
    return " ".join(value.casefold().replace("ё", "е").split())


def clean_name_part(raw: str | None, label: str, field: str) -> str | None:
    value = refuse_control_characters(raw, label, field).strip()
    if not value:
        return None
    _too_long(label, value, 100, field)
    if not _NAME_CHARS.fullmatch(value):
        raise ValidationError(label, "только буквы, пробел, дефис и апостроф", field=field)
    return value


def clean_address(raw: str | None) -> str | None:
    value = " ".join(refuse_control_characters(raw, "Адрес", "address").split())
    if not value:
        return None
    _too_long("Адрес", value, 300, "address")
    return value


def clean_birth_date(value: date | None, today: date) -> date | None:
    if value is None:
        return None
    if value > today:
        raise ValidationError("Дата рождения", "не может быть в будущем", field="birth_date")
    age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    if age < 14:
        raise ValidationError("Дата рождения", "владельцу кабинета должно быть не меньше 14 лет",
                              field="birth_date")
    if age > 120:
        raise ValidationError("Дата рождения", "проверьте год", field="birth_date")
    return value


def clean_reason(raw: str | None, label: str = "Причина", *, limit: int = 500) -> str:
    value = " ".join(refuse_control_characters(raw, label, "reason").split())
    if not value:
        raise ValidationError(label, "обязательное поле", field="reason")
    _too_long(label, value, limit, "reason")
    return value


def search_name_of(surname: str | None, first_name: str | None, patronymic: str | None) -> str:
    return " ".join(p for p in (surname, first_name, patronymic) if p).lower().replace("ё", "е")


@dataclass(frozen=True)
class PersonalData:
    """The optional fields of «Личные данные»."""

    surname: str | None = None
    first_name: str | None = None
    patronymic: str | None = None
    birth_date: date | None = None
    address: str | None = None

    def cleaned(self, today: date) -> "PersonalData":
        return PersonalData(
            surname=clean_name_part(self.surname, "Фамилия", "surname"),
            first_name=clean_name_part(self.first_name, "Имя", "first_name"),
            patronymic=clean_name_part(self.patronymic, "Отчество", "patronymic"),
            birth_date=clean_birth_date(self.birth_date, today),
            address=clean_address(self.address),
        )
