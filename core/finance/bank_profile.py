"""A bank profile: how one bank's registry file maps to ours.

Banks export their acquiring registries each in its own way: other header names, the
date and the time in two columns or a date alone, amounts in kopecks, their own words
for a purchase and a refund, Windows-1251. A profile says it once per bank, so that the
reader (``core.finance.bank_registry``) reads that bank's files without guessing, and
finance sets a new bank up once (``core.finance.bank_profiles`` stores, audits,
exports and imports them).

A profile is a plain value: ``to_dict`` / ``from_dict`` are its file form (JSON), and
``from_dict`` refuses a bad profile naming the field, in Russian, as a form would.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import ValidationError
from core.text import refuse_control_characters

# The registry's columns as we read them (the profile maps each to the bank's headers):
# ``time`` a date with a time in one cell; ``date`` and ``clock`` the two halves in two
# cells (a ``date`` alone: the operation's day, matched by day); ``fee`` the bank's
# commission and ``net`` what it pays us for the line.
COLUMN_LABELS: dict[str, str] = {
    "time": "Дата и время операции", "date": "Дата операции", "clock": "Время операции",
    "operation": "Операция", "txn_id": "ID транзакции", "rrn": "RRN", "masked_pan": "Карта",
    "amount": "Сумма", "fee": "Комиссия банка", "net": "К перечислению",
}
AMOUNT_UNITS = {"rubles": "рубли", "kopecks": "копейки"}
ENCODINGS = {"": "определить по файлу", "utf-8": "UTF-8", "cp1251": "Windows-1251"}
NAME_MAX = 80
WORD_MAX = 60
FEE_RATE_MAX_BP = 10_000  # 100 %


@dataclass(frozen=True)
class BankProfile:
    """How a bank's registry reads: headers per column, operation words, units.

    ``columns`` maps our column (``COLUMN_LABELS``) to the bank's header spellings
    (compared as ``core.files.readers.header_key`` compares them). ``date_format`` is a
    ``strptime`` format of the ``time`` (or ``date``) cells, or "" for every known
    spelling. ``fee_rate_bp`` / ``fee_min`` are the acquiring tariff of the contract
    (basis points of the amount, at least ``fee_min`` kopecks) the bank's commission is
    checked against; ``fee_rate_bp`` None: nothing to check. ``builtin``: shipped with the
    product (read-only; finance saves a copy under its own name to change it)."""

    name: str
    columns: Mapping[str, tuple[str, ...]]
    payment_words: tuple[str, ...]
    refund_words: tuple[str, ...]
    amount_unit: str = "rubles"
    date_format: str = ""
    encoding: str = ""
    fee_rate_bp: int | None = None
    fee_min: int = 0
    builtin: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The file form (``from_dict`` reads it back); ``builtin`` is not part of it."""
        return {"name": self.name,
                "columns": {name: list(spellings) for name, spellings in self.columns.items()},
                "payment_words": list(self.payment_words),
                "refund_words": list(self.refund_words),
                "amount_unit": self.amount_unit, "date_format": self.date_format,
                "encoding": self.encoding, "fee_rate_bp": self.fee_rate_bp,
                "fee_min": self.fee_min}


def from_dict(raw: Mapping[str, Any]) -> BankProfile:
    """A profile from its file form or a form's fields; ``ValidationError`` naming the
    field for anything wrong (nothing is half-read)."""
    if not isinstance(raw, Mapping):
        raise ValidationError("Профиль", "ожидается описание профиля (объект JSON)",
                              field="profile")
    name = _text(raw.get("name"), "Название профиля", "name", NAME_MAX)
    columns = _columns(raw.get("columns"))
    payment_words = _words(raw.get("payment_words"), "Слова для оплаты", "payment_words")
    refund_words = _words(raw.get("refund_words"), "Слова для возврата", "refund_words")
    clash = {w.casefold() for w in payment_words} & {w.casefold() for w in refund_words}
    if clash:
        raise ValidationError("Слова для возврата", "слово «" + sorted(clash)[0]
                              + "» уже означает оплату", field="refund_words")
    unit = str(raw.get("amount_unit") or "rubles")
    if unit not in AMOUNT_UNITS:
        raise ValidationError("Единица сумм", "одно из: " + ", ".join(AMOUNT_UNITS.values()),
                              field="amount_unit")
    date_format = str(raw.get("date_format") or "").strip()
    if date_format and "%" not in date_format:
        raise ValidationError("Формат даты", "укажите формат с кодами, например "
                              "%d.%m.%Y %H:%M:%S, или оставьте пустым", field="date_format")
    encoding = str(raw.get("encoding") or "").strip().lower()
    if encoding not in ENCODINGS:
        raise ValidationError("Кодировка", "одна из: UTF-8, Windows-1251 или пусто",
                              field="encoding")
    rate = raw.get("fee_rate_bp")
    fee_rate_bp = None if rate in (None, "") else _int(rate, "Тариф эквайринга, б. п.",
                                                      "fee_rate_bp", FEE_RATE_MAX_BP)
    fee_min = _int(raw.get("fee_min") or 0, "Минимальная комиссия, коп.", "fee_min", 10**9)
    return BankProfile(name=name, columns=columns, payment_words=payment_words,
                       refund_words=refund_words, amount_unit=unit, date_format=date_format,
                       encoding=encoding, fee_rate_bp=fee_rate_bp, fee_min=fee_min)


def _text(value: Any, label: str, field_name: str, longest: int) -> str:
    text = " ".join(refuse_control_characters(str(value or ""), label, field_name).split())
    if not text:
        raise ValidationError(label, "не заполнено", field=field_name)
    if len(text) > longest:
        raise ValidationError(label, f"не длиннее {longest} символов", field=field_name)
    return text


def _words(value: Any, label: str, field_name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.replace(";", "\n").splitlines()
    if not isinstance(value, (list, tuple)):
        raise ValidationError(label, "ожидается список слов", field=field_name)
    words = tuple(dict.fromkeys(_text(v, label, field_name, WORD_MAX)
                                for v in value if str(v or "").strip()))
    if not words:
        raise ValidationError(label, "укажите хотя бы одно слово", field=field_name)
    return words


def _columns(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ValidationError("Столбцы", "ожидается соответствие столбцов", field="columns")
    unknown = sorted(set(value) - set(COLUMN_LABELS))
    if unknown:
        raise ValidationError("Столбцы", f"неизвестный столбец «{unknown[0]}»",
                              field="columns")
    columns: dict[str, tuple[str, ...]] = {}
    for name in COLUMN_LABELS:
        spellings = value.get(name)
        if spellings in (None, "", [], ()):
            continue
        label = f"Столбец «{COLUMN_LABELS[name]}»"
        columns[name] = _words(spellings, label, f"columns.{name}")
    if "operation" not in columns or "amount" not in columns:
        missing = "operation" if "operation" not in columns else "amount"
        raise ValidationError(f"Столбец «{COLUMN_LABELS[missing]}»",
                              "укажите название столбца в файле банка",
                              field=f"columns.{missing}")
    if "time" not in columns and "date" not in columns:
        raise ValidationError(f"Столбец «{COLUMN_LABELS['time']}»", "укажите столбец даты и "
                              "времени или столбец даты", field="columns.time")
    # A clock beside a ``time`` column makes that column the date (as DEFAULT reads).
    if "clock" in columns and "date" not in columns and "time" not in columns:
        raise ValidationError(f"Столбец «{COLUMN_LABELS['date']}»", "время без даты не "
                              "прочитать: укажите и столбец даты", field="columns.date")
    if not {"txn_id", "rrn", "masked_pan"} & set(columns):
        raise ValidationError(f"Столбец «{COLUMN_LABELS['txn_id']}»", "нужен хотя бы один "
                              "столбец, по которому строку найти у нас: ID транзакции, RRN "
                              "или карта", field="columns.txn_id")
    return columns


def _int(value: Any, label: str, field_name: str, largest: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError(label, f"«{value}» не целое число", field=field_name) from None
    if number < 0 or number > largest:
        raise ValidationError(label, f"от 0 до {largest}", field=field_name)
    return number


# --- the profiles shipped with the product ---------------------------------------------

# Reading without a profile: our own format (the simulator's) and the spellings banks
# commonly use. The ``clock`` spellings are tried before ``time``'s: a file with «Дата
# операции» and «Время операции» has the two halves in two cells; «Время операции»
# alone is a date with a time.
DEFAULT = BankProfile(
    name="Наш формат и распространённые названия",
    columns={
        "time": ("Дата операции", "Дата и время операции", "Дата/время", "Дата и время",
                 "Время операции", "Дата", "Operation date", "Date", "Time"),
        "clock": ("Время операции", "Время", "Time"),
        "operation": ("Операция", "Тип операции", "Вид операции", "Описание операции", "Тип",
                      "Operation", "Type"),
        "txn_id": ("ID транзакции", "Идентификатор транзакции", "Транзакция",
                   "Номер транзакции", "ID операции", "Transaction ID", "Txn ID",
                   "gateway_txn_id"),
        "rrn": ("RRN", "Референс", "Retrieval reference number"),
        "masked_pan": ("Карта", "Номер карты", "Маска карты", "PAN", "Card", "Card number"),
        "amount": ("Сумма", "Сумма, руб.", "Сумма операции", "Сумма операции, руб.",
                   "Сумма (RUB)", "Сумма, ₽", "Amount"),
        "fee": ("Комиссия", "Комиссия банка", "Комиссия, руб.", "Fee", "Commission"),
        "net": ("К перечислению", "Сумма к зачислению", "Сумма к перечислению",
                "К зачислению", "Net", "Net amount"),
    },
    payment_words=("Оплата", "Покупка", "Платёж", "Списание", "Оплата товаров и услуг",
                   "Оплата услуг", "Покупка (онлайн)", "Payment", "Purchase", "Sale"),
    refund_words=("Возврат", "Отмена", "Сторно", "Возврат покупки", "Refund", "Return",
                  "Reversal"),
    builtin=True)

SHIPPED: tuple[BankProfile, ...] = (
    DEFAULT,
    BankProfile(
        name="Эквайринг: дата и время раздельно, комиссия",
        columns={"date": ("Дата операции", "Дата"), "clock": ("Время операции", "Время"),
                 "operation": ("Операция", "Тип операции"), "rrn": ("RRN",),
                 "masked_pan": ("Номер карты", "Карта"), "amount": ("Сумма", "Сумма, руб."),
                 "fee": ("Комиссия", "Комиссия банка"),
                 "net": ("К перечислению", "Сумма к зачислению")},
        payment_words=("Оплата товаров и услуг", "Оплата"), refund_words=("Сторно", "Возврат"),
        builtin=True),
    BankProfile(
        name="Интернет-банк: только дата",
        columns={"date": ("Дата",), "operation": ("Описание операции", "Операция"),
                 "rrn": ("RRN",), "masked_pan": ("Номер карты", "Карта"),
                 "amount": ("Сумма (RUB)", "Сумма, ₽", "Сумма")},
        payment_words=("Покупка (онлайн)", "Покупка", "Оплата"),
        refund_words=("Возврат покупки", "Возврат"), date_format="%d.%m.%Y", builtin=True),
    BankProfile(
        name="Суммы в копейках",
        columns={"time": ("Дата операции",), "operation": ("Операция",),
                 "txn_id": ("ID транзакции",), "rrn": ("RRN",), "masked_pan": ("Карта",),
                 "amount": ("Сумма, коп.", "Сумма в копейках")},
        payment_words=("Оплата услуг", "Оплата"), refund_words=("Возврат",),
        amount_unit="kopecks", builtin=True),
    BankProfile(
        name="English, ISO 8601",
        columns={"time": ("Date", "Time", "Operation date"), "operation": ("Type", "Operation"),
                 "txn_id": ("Transaction ID", "Txn ID"), "rrn": ("RRN",),
                 "masked_pan": ("Card", "Card number", "PAN"), "amount": ("Amount",),
                 "fee": ("Fee", "Commission"), "net": ("Net", "Net amount")},
        payment_words=("Purchase", "Payment", "Sale"),
        refund_words=("Refund", "Reversal", "Return"), builtin=True),
)


__all__ = ["AMOUNT_UNITS", "COLUMN_LABELS", "DEFAULT", "ENCODINGS", "SHIPPED", "BankProfile",
           "from_dict"]
