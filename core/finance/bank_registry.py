"""The acquirer's settlement registry as a file: writing «the simulator's format» and
reading what banks really send.

The format we write (and the simulator's registry in files): UTF-8, ``;``, one header row
``Дата операции;Операция;ID транзакции;RRN;Карта;Сумма``; the date ``dd.mm.yyyy HH:MM:SS``
in Moscow time, «Оплата» or «Возврат», the amount in rubles with a decimal comma
(a payment line: what the card was charged, amount + commission; a refund line: what
was returned). The XLSX variant has the same columns with real Excel dates.

Reading is tolerant (``core.files.readers.read_table``): cp1251 or UTF-8 with a BOM, ``;`` or
``,``, a decimal comma or point, title rows above the header, a totals row («Итого»,
«Всего») below the table, dates as text or as Excel dates (also a bare serial number).
Cells are parsed a whole column at a time with pandas. A file with any bad row is
refused whole: every problem is reported as a ``RowProblem``.

A plain CSV (the header on its first line, no quotes, no blank lines inside, every row
as wide as the header) takes a fast path: Arrow's CSV reader splits it into the same
stripped text cells with the same row numbers, and the common spellings (our time
format, amounts without thousands groups) are parsed by Arrow and numpy a column at a
time; every other cell still goes through the tolerant per-value parsers, so the
problems reported are the same word for word. Anything else goes the tolerant way.

A totals row is checked when it has an amount: it must equal the lines' amounts as
written, payments minus refunds, or either kind alone; otherwise the file is refused
naming that row.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.money import MoneyFormatError, parse_rubles
from core.finance.bank_profile import COLUMN_LABELS, BankProfile
from core.files import exports, uploads
from core.files.readers import RowProblem, header_key, read_table
from core.payments import gateway as g
from core.timefmt import MOSCOW, as_utc

HEADER = ("Дата операции", "Операция", "ID транзакции", "RRN", "Карта", "Сумма")
OPERATION_WORDS = {g.Operation.PAYMENT: "Оплата", g.Operation.REFUND: "Возврат"}
# Canonical column -> accepted header spellings (compared by core.files.readers.header_key).
COLUMNS: dict[str, tuple[str, ...]] = {
    "time": ("Дата операции", "Дата и время операции", "Дата/время", "Дата и время",
             "Время операции", "Дата", "Operation date", "Date", "Time"),
    "operation": ("Операция", "Тип операции", "Вид операции", "Тип", "Operation", "Type"),
    "txn_id": ("ID транзакции", "Идентификатор транзакции", "Транзакция", "Номер транзакции",
               "ID операции", "Transaction ID", "Txn ID", "gateway_txn_id"),
    "rrn": ("RRN", "Референс", "Retrieval reference number"),
    "masked_pan": ("Карта", "Номер карты", "Маска карты", "PAN", "Card", "Card number"),
    "amount": ("Сумма", "Сумма, руб.", "Сумма операции", "Сумма операции, руб.", "Amount"),
    "fee": ("Комиссия", "Комиссия банка", "Комиссия, руб.", "Fee", "Commission"),
    "net": ("К перечислению", "Сумма к зачислению", "Сумма к перечислению", "К зачислению",
            "Net", "Net amount"),
}
LABELS = {**dict(zip(COLUMNS, HEADER)), "fee": COLUMN_LABELS["fee"], "net": COLUMN_LABELS["net"]}
REQUIRED = ("time", "operation", "txn_id", "amount")
OPTIONAL = ("fee", "net")  # the bank's commission and net amount: read where the file has them
_OPERATIONS = {header_key(word): op for op, words in {
    g.Operation.PAYMENT: ("Оплата", "Покупка", "Платёж", "Списание", "payment", "purchase",
                          "sale"),
    g.Operation.REFUND: ("Возврат", "Отмена", "refund", "return", "reversal"),
}.items() for word in words}
_TOTALS_WORDS = ("итог", "всего", "total")
_TEXT_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d.%m.%y %H:%M:%S", "%d.%m.%y %H:%M")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_AMOUNT_MAX = 10**12  # kopecks (10 млрд ₽): more is a typo, not a card operation
_RRN = re.compile(r"\d{1,12}")
_PAN = re.compile(r"[0-9*xXхХ• ]{4,19}")
FRAME_COLUMNS = ("line_no", "txn_id", "rrn", "masked_pan", "amount", "operation", "time", "fee",
                 "net")


@dataclass(frozen=True)
class BankRegistry:
    """A read registry: its lines as a frame (``FRAME_COLUMNS``; amounts in kopecks,
    positive; time UTC; ``fee`` and ``net`` the bank's commission and net amount in
    kopecks as written, Int64 <NA> where the file has no such column or cell) unless
    ``problems`` refuse it."""

    file_name: str
    sha256: str
    lines: pd.DataFrame
    problems: tuple[RowProblem, ...] = ()
    totals_rows: int = 0  # «Итого» rows recognised below the table and skipped

    @property
    def accepted(self) -> bool:
        return not self.problems

    @property
    def period(self) -> tuple[date, date] | None:
        """The Moscow days the file's operations fall on (first, last)."""
        if self.lines.empty:
            return None
        days = self.lines["time"].dt.tz_convert(MOSCOW).dt.date
        return days.min(), days.max()

    @property
    def payments_total(self) -> int:
        return int(self.lines.loc[self.lines["operation"] == "payment", "amount"].sum())

    @property
    def refunds_total(self) -> int:
        return int(self.lines.loc[self.lines["operation"] == "refund", "amount"].sum())


# --- writing ------------------------------------------------------------------

def _moscow_text(moment: datetime) -> str:
    return as_utc(moment).astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M:%S")


def _rubles_text(kopecks: int) -> str:
    return f"{kopecks // 100},{kopecks % 100:02d}"


def write_registry_csv(lines: Iterable[g.SettlementLine]) -> bytes:
    """The simulator's format as CSV: UTF-8, ``;``, Moscow time, decimal comma."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for line in lines:
        writer.writerow([_moscow_text(line.time), OPERATION_WORDS[g.Operation(line.operation)],
                         line.gateway_txn_id, line.rrn, line.masked_pan,
                         _rubles_text(line.amount_kopecks)])
    return out.getvalue().encode("utf-8")


def write_registry_xlsx(lines: Iterable[g.SettlementLine]) -> bytes:
    """The same columns as an Excel workbook; dates are real Excel dates (Moscow time)."""
    columns = (exports.Column(HEADER[0], "datetime", 20), exports.Column(HEADER[1], width=10),
               exports.Column(HEADER[2], width=24), exports.Column(HEADER[3], width=14),
               exports.Column(HEADER[4], width=18), exports.Column(HEADER[5], "money", 14))
    rows = ((line.time, OPERATION_WORDS[g.Operation(line.operation)], line.gateway_txn_id,
             line.rrn, line.masked_pan, line.amount_kopecks) for line in lines)
    return exports.to_xlsx(columns, rows, sheet="Реестр")


def registry_for_period(app, day_from: date, day_to: date) -> list[g.SettlementLine]:  # type: ignore[no-untyped-def]
    """The acquirer's registry lines of each Moscow day from ``day_from`` to ``day_to``."""
    lines: list[g.SettlementLine] = []
    day = day_from
    while day <= day_to:
        lines += app.acquirer().settlement_registry(day)
        day += timedelta(days=1)
    return lines


# --- reading ------------------------------------------------------------------

def read_registry(file_name: str, data: bytes,
                  profile: BankProfile | None = None) -> BankRegistry:
    """Read a registry file (CSV or XLSX), as ``profile`` says (None: our own format and
    the common spellings). Raises ``core.files.readers.FileUnreadable`` for
    a file that is not a table at all; row problems come back in ``problems``."""
    checksum = uploads.checksum(data)
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in FRAME_COLUMNS})
    frame = _plain_csv(data)
    if frame is None:
        rows, missing = read_table(file_name, data, COLUMNS)
        lacking = [c for c in REQUIRED if c in missing]
        if set(missing) == set(COLUMNS):
            return BankRegistry(file_name, checksum, empty, (RowProblem(
                None, "Заголовок", "не найдена строка заголовка с названиями столбцов: "
                + ", ".join(HEADER)),))
        if lacking:
            return BankRegistry(file_name, checksum, empty, tuple(
                RowProblem(None, LABELS[c], "в файле нет такого столбца") for c in lacking))
        frame = pd.DataFrame([{**row.values, "line_no": row.number} for row in rows],
                             columns=["line_no", *COLUMNS])
    totals = _totals_mask(frame)
    totals_rows = int(totals.sum())
    totals_frame = frame.loc[totals]
    frame = frame.loc[~totals].reset_index(drop=True)
    if frame.empty:
        return BankRegistry(file_name, checksum, empty,
                            (RowProblem(None, "Файл", "нет ни одной операции"),), totals_rows)
    parsed, problems = _parse(frame)
    if not problems:
        problems = _check_totals(totals_frame, parsed)
    if problems:
        problems.sort(key=lambda p: (p.row or 0, list(LABELS.values()).index(p.column)
                                     if p.column in LABELS.values() else 99))
        return BankRegistry(file_name, checksum, empty, tuple(problems), totals_rows)
    return BankRegistry(file_name, checksum, parsed, (), totals_rows)


def _plain_csv(data: bytes) -> pd.DataFrame | None:
    """The fast path: a CSV whose first line is our header, split by pandas' C reader.

    The same text cells (stripped, "" when empty) and row numbers as ``read_table``
    gives, so everything after reading is shared. Anything unusual (a spreadsheet,
    UTF-16, quotes, a title block, a header with other names, a ragged row) returns
    None and the file goes the tolerant way."""
    if not data or data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\xff\xfe",
                                    b"\xfe\xff")) or b"\x00" in data[:4096] or b'"' in data:
        return None
    first_line = data[:4096].split(b"\n", 1)[0]
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            header = first_line.decode(encoding).rstrip("\r")
        except UnicodeDecodeError:
            continue
        layouts = [(sep, _header_positions(header.split(sep))) for sep in (";", ",", "\t")]
        complete = [(sep, pos) for sep, pos in layouts
                    if len(set(pos) - set(OPTIONAL)) == len(COLUMNS) - len(OPTIONAL)]
        if len(complete) != 1:
            return None
        sep, positions = complete[0]
        width = len(header.split(sep))
        body = data.rstrip(b"\r\n")
        if any(blank in body for blank in (b"\n\n", b"\n\r\n", b"\r\r")):
            return None  # blank lines inside: the reader below would not count them
        try:
            table = pacsv.read_csv(
                io.BytesIO(body), read_options=pacsv.ReadOptions(
                    skip_rows=1, column_names=[str(n) for n in range(width)],
                    encoding=encoding.replace("utf-8-sig", "utf8")),
                parse_options=pacsv.ParseOptions(delimiter=sep, quote_char=False),
                convert_options=pacsv.ConvertOptions(
                    column_types={str(n): pa.string() for n in range(width)},
                    strings_can_be_null=False, quoted_strings_can_be_null=False))
        except pa.ArrowInvalid as error:
            if "UTF8" in str(error) and encoding != "cp1251":
                continue  # not UTF-8 after all: the tolerant reader would take it as cp1251
            return None  # a ragged row and the like: the tolerant reader reports it
        stripped = [pd.Series(table.column(n).combine_chunks(), dtype="str").str.strip()
                    for n in range(width)]
        blank = np.ones(table.num_rows, dtype=bool)
        for column in stripped:
            blank &= (column == "").to_numpy(dtype=bool)
        nothing = pd.Series([""] * table.num_rows, dtype="str")
        frame = pd.DataFrame({"line_no": np.arange(2, table.num_rows + 2, dtype="int64"),
                              **{name: stripped[positions[name]] if name in positions
                                 else nothing for name in COLUMNS}})
        return frame.loc[~blank].reset_index(drop=True)
    return None


def _header_positions(cells: list[str]) -> dict[str, int]:
    """Canonical column -> its index in the header (the leftmost match wins), as
    ``core.files.readers`` matches a header."""
    keys = [header_key(cell) for cell in cells]
    positions: dict[str, int] = {}
    for name, spellings in COLUMNS.items():
        wanted = {header_key(s) for s in spellings}
        index = next((i for i, key in enumerate(keys)
                      if key and key in wanted and i not in positions.values()), None)
        if index is not None:
            positions[name] = index
    return positions


def _totals_mask(frame: pd.DataFrame) -> pd.Series:
    """A row whose first filled cell starts with «Итого»/«Всего»: the totals, not a line."""
    first = pd.Series("", index=frame.index, dtype="str")
    for column in COLUMNS:
        cells = frame[column].astype("str").str.strip()
        first = first.where(first != "", cells)
    # lower() runs in Arrow; casefold() would go row by row (the same for these words).
    return first.str.lower().str.startswith(_TOTALS_WORDS).fillna(False).astype(bool)


def _parse(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[RowProblem]]:
    problems: list[RowProblem] = []
    line_no = frame["line_no"].astype("int64")

    def report(mask: pd.Series, column: str, why) -> None:  # type: ignore[no-untyped-def]
        for number, text in zip(line_no[mask], frame.loc[mask, column]):
            problems.append(RowProblem(int(number), LABELS[column],
                                       why(text) if callable(why) else why))

    for column in REQUIRED:
        report(frame[column] == "", column, "не заполнено")
    filled = {c: frame[c] != "" for c in COLUMNS}

    times = _times(frame["time"])
    report(filled["time"] & times.isna(), "time",
           lambda t: f"«{t}» не дата и время (ожидается дд.мм.гггг чч:мм:сс)")

    operations = _per_value(frame["operation"], lambda t: _OPERATIONS.get(header_key(t)))
    report(filled["operation"] & operations.isna(), "operation",
           lambda t: f"«{t}» — ожидается «Оплата» или «Возврат»")

    txn = frame["txn_id"].str.strip()
    report(txn.str.len() > 64, "txn_id", "не длиннее 64 символов")

    rrn = frame["rrn"].str.replace(" ", "", regex=False)
    report((rrn != "") & ~rrn.str.fullmatch(_RRN.pattern), "rrn",
           lambda t: f"«{t}» — RRN состоит из 1–12 цифр")

    pan = frame["masked_pan"].str.strip()
    report((pan != "") & ~pan.str.fullmatch(_PAN.pattern), "masked_pan",
           lambda t: f"«{t}» не похоже на маску карты (например 411111******1111)")

    amounts, reasons = _amounts(frame["amount"])
    bad_amount = filled["amount"] & reasons.notna()
    report(bad_amount, "amount", lambda t: f"«{t}»: {_kopecks(t)}")
    # A refund written as a negative amount is still a refund; a negative payment is not.
    negative = (amounts < 0).fillna(False).astype(bool)
    report(negative & (operations == g.Operation.PAYMENT.value), "amount",
           "сумма оплаты не может быть отрицательной")
    money = {}
    for column in OPTIONAL:
        money[column] = _money(frame[column], column, report)
    if problems:
        return frame, problems
    out = pd.DataFrame({
        "line_no": line_no,
        "txn_id": txn,
        "rrn": rrn,
        "masked_pan": pan.str.replace(" ", "", regex=False),
        "amount": amounts.abs().astype("int64").to_numpy(),
        "operation": operations.astype(str),
        "time": times,
        "fee": money["fee"],
        "net": money["net"],
    })
    return out, problems


def _money(texts: pd.Series, column: str, report) -> pd.Series:  # type: ignore[no-untyped-def]
    """The bank's commission or net amount: kopecks (Int64, <NA> where not written; a
    zero commission is a commission). Negative ones are kept as written (a refund's)."""
    filled = texts != ""
    if not filled.any():
        return pd.Series(pd.NA, index=texts.index, dtype="Int64")
    zero = texts.str.fullmatch(r"-?0+(?:[.,]0{1,2})?").fillna(False).astype(bool)
    values, reasons = _amounts(texts.where(~zero, ""))
    report(filled & ~zero & reasons.notna(), column, lambda t: f"«{t}»: {_kopecks(t)}")
    return values.where(~zero, 0).astype("Int64").reset_index(drop=True)


def _per_value(column: pd.Series, parse) -> pd.Series:  # type: ignore[no-untyped-def]
    """``parse`` once per distinct text (amounts and words repeat), mapped over the column."""
    parsed = {text: parse(text) for text in pd.unique(column)}
    return column.map(parsed).astype("object")


def _kopecks(text: str) -> int | str:
    """Kopecks, or the reason the text is not an amount (a string)."""
    try:
        kopecks = parse_rubles(text, grouped=True, trailing_zeros=True).kopecks
    except MoneyFormatError as error:
        if error.reason == "too_precise":
            return "не больше двух знаков после запятой"
        if error.reason == "too_long":
            return "слишком большая сумма"
        return "не число (ожидается сумма в рублях, например 1 234,56)"
    if kopecks == 0:
        return "сумма должна быть больше нуля"
    if abs(kopecks) > _AMOUNT_MAX:
        return "слишком большая сумма"
    return kopecks


# Plain amounts (no thousands groups, at most two decimals) are read a column at a time;
# anything else goes through ``_kopecks``, which knows every reason to refuse a cell.
_PLAIN_AMOUNT = r"-?\d{1,10}(?:[.,]\d{1,2})?"


def _amounts(texts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Kopecks (Int64, <NA> where unreadable) and the reason a filled cell is refused."""
    plain = texts.str.fullmatch(_PLAIN_AMOUNT).fillna(False).astype(bool)
    rubles = pd.to_numeric(texts.where(plain, "0").str.replace(",", ".", regex=False))
    kopecks = pd.Series(np.rint(rubles.to_numpy(dtype="float64") * 100).astype("int64"),
                        index=texts.index)
    fine = plain & (kopecks != 0) & (kopecks.abs() <= _AMOUNT_MAX)
    values = kopecks.astype("Int64").where(fine, pd.NA)
    reasons = pd.Series(None, index=texts.index, dtype="object")
    other = ~fine & (texts != "")
    if other.any():
        parsed = _per_value(texts[other], _kopecks)
        good = parsed.map(lambda v: isinstance(v, int))
        values.loc[parsed.index[good]] = parsed[good].astype("int64")
        reasons.loc[parsed.index[~good]] = parsed[~good]
    return values, reasons


def _check_totals(totals: pd.DataFrame, lines: pd.DataFrame) -> list[RowProblem]:
    """A totals row with an amount must add up: to all lines as written, to payments
    minus refunds, or to either kind alone (banks print several totals rows)."""
    payments = int(lines.loc[lines["operation"] == "payment", "amount"].sum())
    refunds = int(lines.loc[lines["operation"] == "refund", "amount"].sum())
    accepted = {payments + refunds, payments - refunds, payments, refunds}
    problems = []
    for row in totals.itertuples(index=False):
        stated = _kopecks(row.amount) if row.amount else None
        if not isinstance(stated, int) or abs(stated) in accepted:
            continue
        problems.append(RowProblem(int(row.line_no), LABELS["amount"], (
            f"итоговая строка говорит {_rubles_text(abs(stated))} ₽, а сумма операций "
            f"реестра {_rubles_text(payments + refunds)} ₽ (оплаты {_rubles_text(payments)}, "
            f"возвраты {_rubles_text(refunds)}): реестр неполный или итог неверен")))
    return problems


def _times(texts: pd.Series) -> pd.Series:
    """Moscow wall time as written (text or an Excel serial number) -> UTC timestamps."""
    result = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    # Our own format, strictly (the bulk of any file): Arrow's strptime, then every part
    # compared with the digits written, because strptime rolls 31.02 over to 03.03.
    arrow = pa.array(texts.astype("str"), type=pa.string())
    plain = pc.fill_null(pc.match_substring_regex(arrow, _PLAIN_TIME), False)
    parsed = pc.strptime(arrow, format="%d.%m.%Y %H:%M:%S", unit="s", error_is_null=True)
    for part, (begin, end) in _TIME_PARTS.items():
        written = pc.cast(pc.if_else(plain, pc.utf8_slice_codeunits(arrow, begin, end), "0"),
                          pa.int64())
        plain = pc.and_(plain, pc.fill_null(pc.equal(getattr(pc, part)(parsed), written),
                                            False))
    fast = plain.to_numpy(zero_copy_only=False)
    if fast.any():
        result.loc[fast] = pd.Series(parsed.to_numpy(zero_copy_only=False),
                                     index=texts.index).astype("datetime64[ns]")[fast]
    rest = ~fast & (texts != "").to_numpy(dtype=bool)
    if rest.any():
        result.loc[rest] = _times_tolerant(texts[rest])
    return result.dt.tz_localize(MOSCOW, ambiguous="NaT",
                                 nonexistent="NaT").dt.tz_convert("UTC")


_PLAIN_TIME = r"^\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$"
_TIME_PARTS = {"day": (0, 2), "month": (3, 5), "year": (6, 10), "hour": (11, 13),
               "minute": (14, 16), "second": (17, 19)}


def _times_tolerant(texts: pd.Series) -> pd.Series:
    """Every accepted spelling, format by format (naive Moscow wall time)."""
    cleaned = texts.str.strip().str.replace(r"\s+", " ", regex=True)
    result = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    for fmt in _TEXT_FORMATS:
        todo = result.isna() & (cleaned != "")
        if not todo.any():
            break
        result.loc[todo] = pd.to_datetime(cleaned[todo], format=fmt, errors="coerce")
    todo = result.isna() & cleaned.str.fullmatch(r"\d{5}([.,]\d+)?")
    if todo.any():  # an Excel date cell saved as a plain number: days since 1899-12-30
        serial = pd.to_numeric(cleaned[todo].str.replace(",", ".", regex=False),
                               errors="coerce")
        result.loc[todo] = (pd.Timestamp(_EXCEL_EPOCH)
                            + pd.to_timedelta(serial, unit="D")).dt.round("s")
    return result


def frame_from_lines(lines: Sequence[g.SettlementLine]) -> pd.DataFrame:
    """The acquirer's lines straight into the reading frame (for tests and the demo)."""
    return pd.DataFrame({
        "line_no": pd.Series(range(2, len(lines) + 2), dtype="int64"),
        "txn_id": [x.gateway_txn_id for x in lines],
        "rrn": [x.rrn for x in lines],
        "masked_pan": [x.masked_pan for x in lines],
        "amount": pd.Series([x.amount_kopecks for x in lines], dtype="int64"),
        "operation": [str(g.Operation(x.operation).value) for x in lines],
        "time": pd.to_datetime([as_utc(x.time) for x in lines], utc=True),
        "fee": pd.Series(pd.NA, index=range(len(lines)), dtype="Int64"),
        "net": pd.Series(pd.NA, index=range(len(lines)), dtype="Int64"),
    })


__all__ = ["COLUMNS", "FRAME_COLUMNS", "HEADER", "BankRegistry", "RowProblem",
           "frame_from_lines", "read_registry", "registry_for_period", "write_registry_csv",
           "write_registry_xlsx"]
