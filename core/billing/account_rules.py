"""Rules for providers and personal accounts («лицевые счета»).

Pure functions and the errors of binding: what a valid account number is for a
given provider, what a provider's INN, commission and number rule are, how a
payer's name is masked before it is stored.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from core.errors import DomainError, ValidationError
from core.text import CONTROL_PROBLEM, has_control_characters, refuse_control_characters
from core.timefmt import format_until

try:  # the regex parser moved in Python 3.11; used only to build an example number
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]

MAX_ACCOUNTS_PER_CABINET = 20
BINDING_NAME_MAX = 100
ACCOUNT_NUMBER_MAX = 30  # the register's column width
ACCOUNT_INPUT_MAX = 100  # anything longer is refused before any parsing
OWNERSHIP_MAX_FAILURES = 5  # wrong «total of the last invoice» answers before the lock
OWNERSHIP_LOCK = timedelta(hours=1)
COMMISSION_MAX_PERCENT = Decimal(100)
COMMISSION_MIN_MAX_KOPECKS = 100_000  # a minimum commission above 1 000 ₽ is a typo

# Dashes people type in numbers: hyphen, non-breaking hyphen, figure/en/em dash, minus.
_NUMBER_NOISE = re.compile(r"[\s\u00a0\u202f\-\u2010\u2011\u2012\u2013\u2014\u2212]")

SERVICE_KINDS: dict[str, str] = {
    "water": "Водоснабжение и водоотведение",
    "heating": "Отопление и горячая вода",
    "electricity": "Электроэнергия",
    "gas": "Газоснабжение",
    "management": "Управляющая компания",
    "waste": "Вывоз ТКО",
    "internet": "Интернет и телефон",
    "other": "Прочие услуги",
}


# --- errors ----------------------------------------------------------------

class AccountError(DomainError):
    code = "account_error"


class AccountNotInRegister(AccountError):
    code = "account_not_in_register"

    def __init__(self, provider_name: str) -> None:
        super().__init__(f"Лицевой счёт: такого счёта нет у поставщика «{provider_name}»; "
                         "проверьте номер по квитанции", field="number")


class AccountAlreadyBound(AccountError):
    code = "account_already_bound"

    def __init__(self) -> None:
        super().__init__("Лицевой счёт: этот счёт уже добавлен в ваш личный кабинет",
                         field="number")


class TooManyAccounts(AccountError):
    code = "too_many_accounts"

    def __init__(self) -> None:
        super().__init__(f"Лицевые счета: в одном личном кабинете можно держать не больше "
                         f"{MAX_ACCOUNTS_PER_CABINET} счетов; удалите ненужный, "
                         "чтобы добавить новый", field="number")


class OwnershipProofFailed(AccountError):
    code = "ownership_proof_failed"

    def __init__(self, attempts_left: int) -> None:
        super().__init__("Сумма последнего счёта: не совпадает с суммой последнего счёта по "
                         f"этому лицевому счёту; осталось попыток: {attempts_left}",
                         field="last_invoice_total")
        self.attempts_left = attempts_left


class OwnershipProofLocked(AccountError):
    code = "ownership_proof_locked"

    def __init__(self, until: datetime) -> None:
        super().__init__("Сумма последнего счёта: слишком много неверных ответов; "
                         f"попробуйте снова после {format_until(until)}",
                         field="last_invoice_total")
        self.until = until


class OwnershipProofUnavailable(AccountError):
    """The provider asks for proof, but the account has no invoice to prove it with."""

    code = "ownership_proof_unavailable"

    def __init__(self) -> None:
        super().__init__("Сумма последнего счёта: по этому лицевому счёту ещё не выставлено "
                         "ни одного счёта, поэтому подтвердить владение пока нельзя; "
                         "добавьте счёт после получения первой квитанции",
                         field="last_invoice_total")


class ProviderNotInvoicing(AccountError):
    code = "provider_not_invoicing"

    def __init__(self, provider_name: str) -> None:
        super().__init__(f"Поставщик: «{provider_name}» не выставляет счета через личный "
                         "кабинет; выберите поставщика из списка", field="provider")


# --- account numbers ---------------------------------------------------------

def normalize_account_number(raw: str, pattern: str, hint: str) -> str:
    """The number as printed on the receipt -> the register's form, or ValidationError.

    Spaces and dashes are dropped; what remains must match the provider's
    pattern whole (letters are tried upper-cased too: «лс123» is «ЛС123»).
    """
    label = "Лицевой счёт"
    value = refuse_control_characters(raw, label, "number").strip()
    if not value:
        raise ValidationError(label, f"обязательное поле; {account_rule(pattern, hint)}",
                              field="number")
    compact = _NUMBER_NOISE.sub("", value) if len(value) <= ACCOUNT_INPUT_MAX else ""
    if compact and len(compact) <= ACCOUNT_NUMBER_MAX:
        compiled = _compiled(pattern)
        for candidate in (compact, compact.upper()):
            if compiled.fullmatch(candidate):
                return candidate
    raise ValidationError(label, account_rule(pattern, hint), field="number")


def account_rule(pattern: str, hint: str) -> str:
    """The provider's rule for people: «10 цифр, например 1234567890»."""
    example = example_number(pattern)
    return f"{hint}, например {example}" if example else hint


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=256)
def example_number(pattern: str) -> str | None:
    """A number that fits ``pattern`` («\\d{10}» -> «1234567890»), or None if unsure."""
    try:
        parts = _example(_sre_parse.parse(pattern))
    except (re.error, _Unsupported, RecursionError):
        return None
    text = "".join(parts)
    return text if text and re.fullmatch(pattern, text) else None


class _Unsupported(Exception):
    pass


def _example(items, counter=None) -> list[str]:  # type: ignore[no-untyped-def]
    counter = counter if counter is not None else [0]

    def digit() -> str:
        counter[0] += 1
        return str(counter[0] % 10)

    out: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "IN":
            out.append(_from_set(arg, digit))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            times = max(low, 1) if high != 0 else 0
            for _ in range(min(times, ACCOUNT_NUMBER_MAX)):
                out.extend(_example(sub, counter))
        elif name == "SUBPATTERN":
            out.extend(_example(arg[-1], counter))
        elif name == "BRANCH":
            out.extend(_example(arg[1][0], counter))
        elif name == "AT":
            continue
        elif name == "ANY":
            out.append(digit())
        else:
            raise _Unsupported(name)
    return out


def _from_set(items, digit) -> str:  # type: ignore[no-untyped-def]
    if items and str(items[0][0]) == "NEGATE":
        raise _Unsupported("NEGATE")
    for op, arg in items:
        name = str(op)
        if name == "CATEGORY" and str(arg) == "CATEGORY_DIGIT":
            return digit()
        if name == "RANGE":
            low, high = arg
            if low <= ord("0") <= high:
                candidate = digit()
                if low <= ord(candidate) <= high:
                    return candidate
            return chr(low)
        if name == "LITERAL":
            return chr(arg)
    raise _Unsupported("IN")


def validate_account_pattern(raw: str) -> str:
    label = "Правило номера счёта"
    value = refuse_control_characters(raw, label, "account_pattern").strip()
    if not value:
        raise ValidationError(label, r"обязательное поле, например \d{10}", field="account_pattern")
    if len(value) > 100:
        raise ValidationError(label, "не длиннее 100 символов", field="account_pattern")
    try:
        compiled = re.compile(value)
    except re.error as error:
        raise ValidationError(label, f"это не регулярное выражение ({error})",
                              field="account_pattern") from None
    if compiled.fullmatch(""):
        raise ValidationError(label, "правило не должно принимать пустой номер",
                              field="account_pattern")
    return value


def clean_account_hint(raw: str) -> str:
    value = " ".join(refuse_control_characters(raw, "Подсказка к номеру счёта",
                                               "account_hint").split())
    if not value:
        raise ValidationError("Подсказка к номеру счёта", "обязательное поле, например «10 цифр»",
                              field="account_hint")
    if len(value) > 100:
        raise ValidationError("Подсказка к номеру счёта", "не длиннее 100 символов",
                              field="account_hint")
    return value


# --- bindings --------------------------------------------------------------

def clean_binding_name(raw: str) -> str:
    """The customer's own name for an account, e.g. the flat's address."""
    label = "Название счёта"
    value = " ".join(refuse_control_characters(raw, label, "name").split())
    if not value:
        raise ValidationError(label, "обязательное поле, например «Квартира на Ленина, 5»",
                              field="name")
    if len(value) > BINDING_NAME_MAX:
        raise ValidationError(label, f"не длиннее {BINDING_NAME_MAX} символов", field="name")
    return value


def mask_payer(full_name: str) -> str:
    """«Иванов Иван Иванович» -> «Ив***в И. И.»: enough to recognise, not to identify."""
    parts = str(full_name or "").split()
    if not parts:
        return ""
    surname = parts[0]
    if len(surname) >= 4:
        masked = f"{surname[:2]}***{surname[-1]}"
    else:
        masked = f"{surname[:1]}***"
    initials = [f"{p[0].upper()}." for p in parts[1:3] if p[0].isalpha()]
    return " ".join([masked, *initials])


def clean_payer_name(raw: str) -> str:
    """A payer's full name from a register row (it is masked before it is stored)."""
    if has_control_characters(raw):
        raise ValueError(CONTROL_PROBLEM)
    value = " ".join(str(raw or "").split())
    if not value:
        raise ValueError("обязательное поле")
    if len(value) > 150:
        raise ValueError("не длиннее 150 символов")
    if not any(ch.isalpha() for ch in value.split()[0]):
        raise ValueError("ожидается фамилия, имя и отчество")
    return value


def clean_register_address(raw: str) -> str:
    if has_control_characters(raw):
        raise ValueError(CONTROL_PROBLEM)
    value = " ".join(str(raw or "").split())
    if not value:
        raise ValueError("обязательное поле")
    if len(value) > 300:
        raise ValueError("не длиннее 300 символов")
    return value


# --- providers --------------------------------------------------------------

_INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn_checksum_ok(inn: str) -> bool:
    """The organisation INN's control digit (10 digits, the last one checks the rest)."""
    if not re.fullmatch(r"\d{10}", inn):
        return False
    total = sum(int(d) * w for d, w in zip(inn, _INN_WEIGHTS))
    return total % 11 % 10 == int(inn[9])


def validate_inn(raw: str) -> str:
    label = "ИНН"
    value = re.sub(r"[\s\u00a0]", "", str(raw or ""))
    if not value:
        raise ValidationError(label, "обязательное поле", field="inn")
    if not re.fullmatch(r"\d{10}", value):
        raise ValidationError(label, "10 цифр (ИНН организации)", field="inn")
    if not inn_checksum_ok(value):
        raise ValidationError(label, "неверная контрольная цифра, проверьте номер", field="inn")
    return value


def clean_provider_name(raw: str) -> str:
    value = " ".join(refuse_control_characters(raw, "Название поставщика", "name").split())
    if not value:
        raise ValidationError("Название поставщика", "обязательное поле", field="name")
    if len(value) > 200:
        raise ValidationError("Название поставщика", "не длиннее 200 символов", field="name")
    return value


def normalize_contact_phone(raw: str) -> str:
    """Any Russian number a provider answers on (landline, 8 800, mobile) -> «+7 342 212-00-00»."""
    import phonenumbers

    label = "Телефон поставщика"
    value = refuse_control_characters(raw, label, "contact_phone").strip()
    if not value:
        raise ValidationError(label, "обязательное поле", field="contact_phone")
    if len(value) > 40:
        raise ValidationError(label, "не длиннее 40 символов", field="contact_phone")
    hint = "российский номер, например 8 800 100-39-00 или +7 342 212-00-00"
    try:
        parsed = phonenumbers.parse(value, "RU")
    except phonenumbers.NumberParseException:
        raise ValidationError(label, hint, field="contact_phone") from None
    if parsed.country_code != 7 or not phonenumbers.is_valid_number_for_region(parsed, "RU"):
        raise ValidationError(label, hint, field="contact_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def validate_service_kind(raw: str) -> str:
    value = str(raw or "").strip().lower()
    if value not in SERVICE_KINDS:
        raise ValidationError("Вид услуг", "один из: " + ", ".join(SERVICE_KINDS),
                              field="service_kind")
    return value


def parse_commission_percent(raw: str) -> int:
    """«1,5» -> 150 basis points; 0 to 100 %, at most two decimals."""
    label = "Комиссия, %"
    value = re.sub(r"[\s\u00a0%]", "", str(raw or "")).replace(",", ".") or "0"
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", value):
        raise ValidationError(label, "число от 0 до 100, не больше двух знаков после запятой, "
                              "например 1,5", field="commission_percent")
    percent = Decimal(value)
    if percent > COMMISSION_MAX_PERCENT:
        raise ValidationError(label, "не больше 100", field="commission_percent")
    return int((percent * 100).to_integral_value(ROUND_HALF_UP))


def parse_commission_min(raw: str) -> int:
    """«10» or «10,50» rubles -> kopecks; 0 to 1 000 ₽."""
    from core.money import Money, MoneyFormatError

    label = "Минимальная комиссия, ₽"
    text = str(raw or "").strip() or "0"
    try:
        money = Money.parse(text)
    except MoneyFormatError:
        raise ValidationError(label, "сумма в рублях, например 10 или 12,50",
                              field="commission_min") from None
    if money.kopecks < 0 or money.kopecks > COMMISSION_MIN_MAX_KOPECKS:
        raise ValidationError(label, "от 0 до 1 000 ₽", field="commission_min")
    return money.kopecks


def format_percent(basis_points: int) -> str:
    """150 -> «1,5», 100 -> «1», 125 -> «1,25»."""
    text = f"{Decimal(basis_points) / 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def commission_text(basis_points: int, minimum_kopecks: int) -> str:
    """«1,5 %, не менее 10,00 ₽», «1,5 %», «10,00 ₽ с платежа», «без комиссии»."""
    from core.money import Money

    percent = f"{format_percent(basis_points)}\u00a0%"
    minimum = Money(minimum_kopecks).format()
    if basis_points and minimum_kopecks:
        return f"{percent}, не менее {minimum}"
    if basis_points:
        return percent
    if minimum_kopecks:
        return f"{minimum} с платежа"
    return "без комиссии"
