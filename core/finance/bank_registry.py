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
from core.finance.bank_profile import COLUMN_LABELS, DEFAULT, ENCODINGS, BankProfile
from core.files import exports, uploads
from core.files.readers import (HEADER_SEARCH_ROWS, FileUnreadable, RowProblem, SourceTable,
                                extra_cell_problems, header_key, read_columns)
from core.payments import gateway as g
from core.timefmt import MOSCOW, as_utc

HEADER = ("Дата операции", "Операция", "ID транзакции", "RRN", "Карта", "Сумма")
OPERATION_WORDS = {g.Operation.PAYMENT: "Оплата", g.Operation.REFUND: "Возврат"}
# Canonical column -> accepted header spellings without a profile (compared by
# core.files.readers.header_key): the default profile's.
COLUMNS: dict[str, tuple[str, ...]] = dict(DEFAULT.columns)
LABELS = {**dict(zip(("time", "operation", "txn_id", "rrn", "masked_pan", "amount"), HEADER)),
          "date": HEADER[0], "clock": COLUMN_LABELS["clock"], "fee": COLUMN_LABELS["fee"],
          "net": COLUMN_LABELS["net"]}
TEXT_COLUMNS = ("time", "operation", "txn_id", "rrn", "masked_pan", "amount", "fee", "net")
OPTIONAL = ("fee", "net")  # the bank's commission and net amount: read where the file has them
KEYS = ("txn_id", "rrn", "masked_pan")  # what finds a line at ours: at least one of them
# Matched first: «Время операции» beside a date column is the clock, not the time.
_MATCH_ORDER = ("clock", "date", "time", "operation", "txn_id", "rrn", "masked_pan", "amount",
                "fee", "net")
_TOTALS_WORDS = ("итог", "всего", "total")
_TEXT_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d.%m.%y %H:%M:%S", "%d.%m.%y %H:%M",
                 "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%d.%m.%Y %H:%M:%S.%f")
_DAY_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y")
# ISO 8601 with its offset: converted by the offset written, not taken as Moscow time.
_ISO_OFFSET = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)"
_EXCEL_EPOCH = datetime(1899, 12, 30)
_AMOUNT_MAX = 10**12  # kopecks (10 млрд ₽): more is a typo, not a card operation
_RRN = re.compile(r"\d{1,12}")
_PAN = re.compile(r"[0-9*xXхХ• ]{4,19}")
FRAME_COLUMNS = ("line_no", "txn_id", "rrn", "masked_pan", "amount", "operation", "time", "fee",
                 "net", "day_only")


@dataclass(frozen=True)
class BankRegistry:
    """A read registry: its lines as a frame (``FRAME_COLUMNS``; amounts in kopecks,
    positive; time UTC; ``fee`` and ``net`` the bank's commission and net amount in
    kopecks as written, Int64 <NA> where the file has no such column or cell;
    ``day_only`` a line whose file gave the day alone: its ``time`` is the Moscow
    midnight and matching pairs it by the day) unless ``problems`` refuse it."""

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
        # The first and last moments' days: a Moscow day never runs backwards, and a
        # million lines' dates as Python objects cost 0.2–0.3 s.
        times = self.lines["time"]
        return (times.min().tz_convert(MOSCOW).date(), times.max().tz_convert(MOSCOW).date())

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

@dataclass(frozen=True)
class _Layout:
    """What the profile makes of a header: canonical column -> the header's index."""

    positions: dict[str, int]
    width: int  # the header's cells

    @property
    def split_time(self) -> bool:
        return "date" in self.positions


def spellings(profile: BankProfile) -> dict[str, tuple[str, ...]]:
    """The profile's header spellings in the order they are matched (``_MATCH_ORDER``)."""
    return {name: tuple(profile.columns[name]) for name in _MATCH_ORDER
            if profile.columns.get(name)}


def _resolve(positions: dict[str, int]) -> dict[str, int]:
    """The date and the clock as the profile's header gave them: a clock beside a
    ``time`` column makes that column the date; a clock alone is a date with a time."""
    positions = dict(positions)
    if "clock" in positions and "date" not in positions:
        if "time" in positions:
            positions["date"] = positions.pop("time")
        else:
            positions["time"] = positions.pop("clock")
    if "date" in positions:
        positions.pop("time", None)
    return positions


def header_problems(positions: dict[str, int], profile: BankProfile) -> list[RowProblem]:
    """What a header lacks for a registry to be read by ``profile`` (nothing: readable)."""
    problems = [RowProblem(None, LABELS[c], "в файле нет такого столбца")
                for c in ("time", "operation", "amount")
                if c not in positions and not (c == "time" and "date" in positions)]
    if not set(KEYS) & set(positions):
        problems.append(RowProblem(None, LABELS["txn_id"], (
            "в файле нет ни ID транзакции, ни RRN, ни карты: строку не с чем найти у нас"
            + _profile_note(profile))))
    return problems


def _profile_note(profile: BankProfile) -> str:
    return "" if profile is DEFAULT else f" (профиль «{profile.name}»)"


def read_registry(file_name: str, data: bytes,
                  profile: BankProfile | None = None) -> BankRegistry:
    """Read a registry file (CSV or XLSX), as ``profile`` says (None: ``DEFAULT``, our
    own format and the common spellings). Raises ``core.files.readers.FileUnreadable``
    for a file that is not a table at all; row problems come back in ``problems``."""
    profile = profile or DEFAULT
    checksum = uploads.checksum(data)
    frame, problems = read_frame(file_name, data, profile)
    if problems:
        return BankRegistry(file_name, checksum, _empty(), tuple(problems))
    totals = _totals_mask(frame)
    totals_rows = int(totals.sum())
    totals_frame = frame.loc[totals]
    frame = frame.loc[~totals].reset_index(drop=True)
    if frame.empty:
        return BankRegistry(file_name, checksum, _empty(),
                            (RowProblem(None, "Файл", "нет ни одной операции"),), totals_rows)
    parsed, problems = parse_frame(frame, profile)
    if not problems:
        problems = _check_totals(totals_frame, parsed, profile)
    if problems:
        return BankRegistry(file_name, checksum, _empty(), tuple(_sorted(problems)),
                            totals_rows)
    return BankRegistry(file_name, checksum, parsed, (), totals_rows)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FRAME_COLUMNS})


def _sorted(problems: list[RowProblem]) -> list[RowProblem]:
    order = list(dict.fromkeys(LABELS.values()))
    return sorted(problems, key=lambda p: (p.row or 0, order.index(p.column)
                                           if p.column in order else 99))


def _recode(file_name: str, data: bytes, encoding: str) -> bytes:
    """A CSV in the profile's encoding as UTF-8 (the readers guess it otherwise)."""
    if not encoding or data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return data
    try:
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding).encode("utf-8")
    except UnicodeDecodeError:
        raise FileUnreadable(file_name, f"файл не в кодировке {ENCODINGS[encoding]}, как "
                             "сказано в профиле банка") from None


def read_frame(file_name: str, data: bytes, profile: BankProfile,
               limit: int | None = None) -> tuple[pd.DataFrame, list[RowProblem]]:
    """The data rows as stripped text cells (``TEXT_COLUMNS`` plus ``date``/``clock`` of
    a split layout, "" where absent) with their row numbers, or the problems of the
    file's shape (no header, a missing column, a row wider than the header). ``limit``:
    only the first rows (a preview), read without splitting the whole file."""
    data = _recode(file_name, data, profile.encoding)
    if limit is not None:
        data = _head(data, limit)
    columns = spellings(profile)
    frame = _plain_csv(data, columns, profile)
    if frame is not None:
        return frame, []
    table = read_columns(file_name, data, columns)
    if not table.numbers and len(table.missing) == len(columns):
        return _empty(), [RowProblem(None, "Заголовок", (
            "не найдена строка заголовка с названиями столбцов: "
            + ", ".join(spellings[0] for spellings in columns.values())
            + _profile_note(profile)))]
    found = {name for name in columns if name not in table.missing}
    positions = _resolve({name: n for n, name in enumerate(columns) if name in found})
    lacking = header_problems(positions, profile)
    if lacking:
        return _empty(), lacking
    if table.extra_cells:
        return _empty(), _extra_cell_problems(table, positions, limit)
    texts = {name: table.columns[source] for name, source in _sources(positions, columns)}
    frame = pd.DataFrame({"line_no": pd.Series(table.numbers, dtype="int64"),
                          **{name: pd.Series(values, dtype="str")
                             for name, values in texts.items()}})
    return frame, []


def _sources(positions: dict[str, int],
             columns: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    """(frame column, the profile's column read into it) after ``_resolve`` renamed some."""
    by_index = {n: name for n, name in enumerate(columns)}
    return [(name, by_index[n]) for name, n in positions.items()]


def _complete(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text column, "" where the file has none (a date without a clock: "")."""
    nothing = pd.Series([""] * len(frame), dtype="str", index=frame.index)
    wanted = (*TEXT_COLUMNS, *(("date", "clock") if "date" in frame else ()))
    return frame.assign(**{name: nothing for name in wanted if name not in frame})


def _head(data: bytes, rows: int) -> bytes:
    """The first lines of a CSV (a title block, the header and ``rows`` more): a preview
    of a million-line file reads a few kilobytes."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\xff\xfe", b"\xfe\xff")):
        return data
    end = -1
    for _ in range(rows + HEADER_SEARCH_ROWS + 1):
        end = data.find(b"\n", end + 1)
        if end < 0:
            return data
    return data[:end + 1]


def _extra_cell_problems(table: SourceTable, positions: dict[str, int],
                         limit: int | None) -> list[RowProblem]:
    """A row wider than the header is refused (its extra cell would be silently lost);
    a ``,``-separated file whose amounts have unquoted decimal commas gets one problem
    saying so instead of one per shifted row."""
    if table.delimiter == "," and "amount" in positions:
        rows = {n: i for i, n in enumerate(table.numbers)}
        amount_at = positions["amount"]
        shifted = 0
        for number, _cells, width in table.extra_cells[:50]:
            cells = table.row(rows[number])
            if width == amount_at + 1 or re.fullmatch(r"-?\d[\d ]*", cells.values.get(
                    "amount", "")):
                shifted += 1
        if shifted * 2 > min(len(table.extra_cells), 50):
            return [RowProblem(None, "Файл", (
                f"столбцы разделены запятой, а в суммах десятичная запятая без кавычек: "
                f"«1391,10» читается как две ячейки, и в {len(table.extra_cells)} строках "
                "столбцов больше, чем в заголовке. Сохраните файл с разделителем «;» "
                "(точка с запятой) или возьмите суммы в кавычки"))]
    return extra_cell_problems(table, limit or 100)


def _plain_csv(data: bytes, columns: dict[str, tuple[str, ...]] | None = None,
               profile: BankProfile = DEFAULT) -> pd.DataFrame | None:
    """The fast path: a CSV whose first line is a readable header, split by Arrow.

    The same text cells (stripped, "" when empty) and row numbers as ``read_columns``
    gives, so everything after reading is shared. Anything unusual (a spreadsheet,
    UTF-16, quotes, a title block, a header that lacks a column, a ragged row) returns
    None and the file goes the tolerant way."""
    columns = spellings(DEFAULT) if columns is None else columns
    if not data or data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\xff\xfe",
                                    b"\xfe\xff")) or b"\x00" in data[:4096] or b'"' in data:
        return None
    first_line = data[:4096].split(b"\n", 1)[0]
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            header = first_line.decode(encoding).rstrip("\r")
        except UnicodeDecodeError:
            continue
        layouts = [(sep, _resolve(_header_positions(header.split(sep), columns)))
                   for sep in (";", ",", "\t")]
        complete = [(sep, pos) for sep, pos in layouts if not header_problems(pos, profile)]
        if len(complete) != 1:
            return None
        sep, positions = complete[0]
        width = len(header.split(sep))
        body = data.rstrip(b"\r\n")
        try:
            table = pacsv.read_csv(
                io.BytesIO(body), read_options=pacsv.ReadOptions(
                    skip_rows=1, column_names=[str(n) for n in range(width)],
                    encoding=encoding.replace("utf-8-sig", "utf8")),
                # A blank line inside is then a row of one cell: refused below as
                # ragged, so the file goes the tolerant way, which counts it as a row
                # (scanning 80 MB for blank lines beforehand cost 0.4 s).
                parse_options=pacsv.ParseOptions(delimiter=sep, quote_char=False,
                                                 ignore_empty_lines=False),
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
        frame = pd.DataFrame({"line_no": np.arange(2, table.num_rows + 2, dtype="int64"),
                              **{name: stripped[pos] for name, pos in positions.items()}})
        return frame.loc[~blank].reset_index(drop=True)
    return None


def _header_positions(cells: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Canonical column -> its index in the header (the leftmost match wins), as
    ``core.files.readers`` matches a header."""
    keys = [header_key(cell) for cell in cells]
    positions: dict[str, int] = {}
    for name, names in columns.items():
        wanted = {header_key(s) for s in names}
        index = next((i for i, key in enumerate(keys)
                      if key and key in wanted and i not in positions.values()), None)
        if index is not None:
            positions[name] = index
    return positions


def _totals_mask(frame: pd.DataFrame) -> pd.Series:
    """A row whose first filled cell starts with «Итого»/«Всего»: the totals, not a line."""
    # Only rows with such a word at the start of some cell can be one: one Arrow regex
    # per column finds them (a million rows' first filled cells cost 0.4 s).
    texts = [c for c in frame.columns if c != "line_no"]
    candidate = np.zeros(len(frame), dtype=bool)
    for column in texts:
        found = pc.match_substring_regex(_arrow_strings(frame[column]), _TOTALS_START)
        candidate |= pc.fill_null(found, False).to_numpy(zero_copy_only=False)
    mask = pd.Series(False, index=frame.index, dtype=bool)
    if not candidate.any():
        return mask
    rows = frame.loc[candidate]
    first = pd.Series("", index=rows.index, dtype="str")
    for column in texts:
        cells = rows[column].astype("str").str.strip()
        first = first.where(first != "", cells)
    # lower() runs in Arrow; casefold() would go row by row (the same for these words).
    mask.loc[rows.index] = first.str.lower().str.startswith(_TOTALS_WORDS).fillna(
        False).astype(bool)
    return mask


_TOTALS_START = r"(?i)^\s*(?:" + "|".join(_TOTALS_WORDS) + ")"


def _arrow_strings(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A text column as Arrow strings (no copy when pandas keeps it in Arrow)."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        return pa.array(column.array)
    return pa.array(column.astype("str").to_numpy(dtype=object), type=pa.string(),
                    from_pandas=True)


def _operation_words(profile: BankProfile) -> dict[str, str]:
    return {header_key(word): op.value for op, words in (
        (g.Operation.PAYMENT, profile.payment_words), (g.Operation.REFUND, profile.refund_words))
        for word in words}


def _operation_reason(profile: BankProfile) -> str:
    if profile is DEFAULT:
        return "ожидается «Оплата» или «Возврат»"
    def listed(words: tuple[str, ...]) -> str:
        return ", ".join(f"«{w}»" for w in words[:4]) + (" и др." if len(words) > 4 else "")
    return (f"ожидается оплата ({listed(profile.payment_words)}) или возврат "
            f"({listed(profile.refund_words)}) — слова профиля «{profile.name}»")


def parse_frame(frame: pd.DataFrame,
                profile: BankProfile = DEFAULT) -> tuple[pd.DataFrame, list[RowProblem]]:
    """Text cells (``read_frame``: the header's columns only) -> the lines
    (``FRAME_COLUMNS``) and every problem."""
    present = set(frame.columns)
    frame = _complete(frame)
    problems: list[RowProblem] = []
    line_no = frame["line_no"].astype("int64")

    def report(mask: pd.Series, column: str, why) -> None:  # type: ignore[no-untyped-def]
        for number, text in zip(line_no[mask], frame.loc[mask, column]):
            problems.append(RowProblem(int(number), LABELS[column],
                                       why(text) if callable(why) else why))

    split = "date" in frame
    when = frame["time"]
    if split:
        when = (frame["date"] + " " + frame["clock"]).str.strip()
        report(frame["date"] == "", "date", "не заполнено")
    for column in ("operation", "amount", *(() if split else ("time",))):
        report(frame[column] == "", column, "не заполнено")
    frame = frame.assign(time=when)
    times, day_only = _times(when, profile.date_format, split)
    expected = ("дд.мм.гггг" if split and profile.date_format == "" else
                profile.date_format or "дд.мм.гггг чч:мм:сс")
    report((when != "") & times.isna(), "time",
           lambda t: f"«{t}» не дата и время (ожидается {expected})")

    words = _operation_words(profile)
    operations = _per_value(frame["operation"], lambda t: words.get(header_key(t)))
    reason = _operation_reason(profile)
    report((frame["operation"] != "") & operations.isna(), "operation",
           lambda t: f"«{t}» — {reason}")

    txn = frame["txn_id"].str.strip()
    report(txn.str.len() > 64, "txn_id", "не длиннее 64 символов")

    rrn = frame["rrn"].str.replace(" ", "", regex=False)
    report((rrn != "") & ~rrn.str.fullmatch(_RRN.pattern), "rrn",
           lambda t: f"«{t}» — RRN состоит из 1–12 цифр")

    pan = frame["masked_pan"].str.strip()
    report((pan != "") & ~pan.str.fullmatch(_PAN.pattern), "masked_pan",
           lambda t: f"«{t}» не похоже на маску карты (например 411111******1111)")
    # A line must be findable at ours: by our transaction id where the file has that
    # column (every line then), else by the bank's RRN or the card.
    if "txn_id" in present:
        report(txn == "", "txn_id", "не заполнено")
    else:
        report((rrn == "") & (pan == ""), "rrn", "не заполнено (нет ни RRN, ни карты: "
               "строку не с чем найти у нас)")

    unit = profile.amount_unit
    amounts, reasons = _amounts(frame["amount"], unit)
    bad_amount = (frame["amount"] != "") & reasons.notna()
    report(bad_amount, "amount", lambda t: f"«{t}»: {_kopecks(t, unit)}")
    # A refund written as a negative amount is still a refund; a negative payment is not.
    negative = (amounts < 0).fillna(False).astype(bool)
    report(negative & (operations == g.Operation.PAYMENT.value), "amount",
           "сумма оплаты не может быть отрицательной")
    money = {column: _money(frame[column], column, unit, report) for column in OPTIONAL}
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
        "day_only": day_only,
    })
    return out, problems


def _money(texts: pd.Series, column: str, unit: str, report) -> pd.Series:  # type: ignore[no-untyped-def]
    """The bank's commission or net amount: kopecks (Int64, <NA> where not written; a
    zero commission is a commission). Negative ones are kept as written (a refund's)."""
    filled = texts != ""
    if not filled.any():
        return pd.Series(pd.NA, index=texts.index, dtype="Int64")
    zero = texts.str.fullmatch(r"-?0+(?:[.,]0{1,2})?(?:\s*(?:₽|руб\.?|RUB))?").fillna(
        False).astype(bool)
    values, reasons = _amounts(texts.where(~zero, ""), unit)
    report(filled & ~zero & reasons.notna(), column, lambda t: f"«{t}»: {_kopecks(t, unit)}")
    return values.where(~zero, 0).astype("Int64")


def _per_value(column: pd.Series, parse) -> pd.Series:  # type: ignore[no-untyped-def]
    """``parse`` once per distinct text (amounts and words repeat), taken by each row's
    code (``map`` with a dict looks a million rows up one by one: 0.45 s)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    parsed = np.empty(len(uniques), dtype=object)
    parsed[:] = [parse(text) for text in uniques]
    return pd.Series(parsed[codes], index=column.index, dtype="object")


_CURRENCY = re.compile(r"\s*(?:₽|руб\.?|р\.|RUB|RUR)\s*$", re.IGNORECASE)
_POINT_GROUPS = re.compile(r"-?\d{1,3}(?:\.\d{3})+,\d{1,2}")  # «1.234,50»
_COMMA_GROUPS = re.compile(r"-?\d{1,3}(?:,\d{3})+\.\d{1,2}")  # «1,234.50»
_KOPECKS = re.compile(r"-?\d{1,3}(?:[ \u00a0\u202f]\d{3})*|-?\d+")


def _kopecks(text: str, unit: str = "rubles") -> int | str:
    """Kopecks, or the reason the text is not an amount (a string)."""
    text = _CURRENCY.sub("", text)
    if unit == "kopecks":
        if not _KOPECKS.fullmatch(text):
            return "не целое число копеек (единица сумм профиля — копейки)"
        kopecks = int(re.sub(r"\s", "", text))
    else:
        if _POINT_GROUPS.fullmatch(text):
            text = text.replace(".", "")
        elif _COMMA_GROUPS.fullmatch(text):
            text = text.replace(",", "")
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
_PLAIN_KOPECKS = r"-?\d{1,12}"


def _amounts(texts: pd.Series, unit: str = "rubles") -> tuple[pd.Series, pd.Series]:
    """Kopecks (Int64, <NA> where unreadable) and the reason a filled cell is refused."""
    plain = texts.str.fullmatch(_PLAIN_KOPECKS if unit == "kopecks" else _PLAIN_AMOUNT).fillna(
        False).astype(bool)
    # The plain texts are numbers Arrow's cast reads in C (pandas' to_numeric: 0.6 s).
    if unit == "kopecks":
        whole = pc.cast(_arrow_strings(texts.where(plain, "0")), pa.int64())
        kopecks = pd.Series(whole.to_numpy(zero_copy_only=False).astype("int64"),
                            index=texts.index)
    else:
        rubles = pc.cast(_arrow_strings(
            texts.where(plain, "0").str.replace(",", ".", regex=False)), pa.float64())
        kopecks = pd.Series(np.rint(rubles.to_numpy(zero_copy_only=False) * 100)
                            .astype("int64"), index=texts.index)
    fine = plain & (kopecks != 0) & (kopecks.abs() <= _AMOUNT_MAX)
    values = kopecks.astype("Int64").where(fine, pd.NA)
    reasons = pd.Series(None, index=texts.index, dtype="object")
    other = ~fine & (texts != "")
    if other.any():
        parsed = _per_value(texts[other], lambda t: _kopecks(t, unit))
        good = parsed.map(lambda v: isinstance(v, int))
        values.loc[parsed.index[good]] = parsed[good].astype("int64")
        reasons.loc[parsed.index[~good]] = parsed[~good]
    return values, reasons


def _check_totals(totals: pd.DataFrame, lines: pd.DataFrame,
                  profile: BankProfile = DEFAULT) -> list[RowProblem]:
    """A totals row with an amount must add up: to all lines as written, to payments
    minus refunds, or to either kind alone (banks print several totals rows)."""
    payments = int(lines.loc[lines["operation"] == "payment", "amount"].sum())
    refunds = int(lines.loc[lines["operation"] == "refund", "amount"].sum())
    accepted = {payments + refunds, payments - refunds, payments, refunds}
    problems = []
    for row in totals.itertuples(index=False):
        stated = _kopecks(row.amount, profile.amount_unit) if row.amount else None
        if not isinstance(stated, int) or abs(stated) in accepted:
            continue
        problems.append(RowProblem(int(row.line_no), LABELS["amount"], (
            f"итоговая строка говорит {_rubles_text(abs(stated))} ₽, а сумма операций "
            f"реестра {_rubles_text(payments + refunds)} ₽ (оплаты {_rubles_text(payments)}, "
            f"возвраты {_rubles_text(refunds)}): реестр неполный или итог неверен")))
    return problems


def _times(texts: pd.Series, date_format: str = "",
           split: bool = False) -> tuple[pd.Series, np.ndarray]:
    """Moscow wall time as written (text or an Excel serial number; ISO 8601 with an
    offset by its offset) -> UTC timestamps, and which lines gave the day alone."""
    result = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    day_only = np.zeros(len(texts), dtype=bool)
    # Our own format, strictly (the bulk of any file): Arrow's strptime, then every part
    # compared with the digits written, because strptime rolls 31.02 over to 03.03.
    arrow = pa.array(texts.astype("str"), type=pa.string())
    plain = pc.fill_null(pc.match_substring_regex(arrow, _PLAIN_TIME), False)
    if date_format not in ("", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y"):
        plain = pc.and_(plain, False)
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
    aware = None
    if rest.any():
        naive, aware, days = _times_tolerant(texts[rest], date_format, split)
        result.loc[rest] = naive
        day_only[rest] = days.to_numpy(dtype=bool)
    moscow = result.dt.tz_localize(MOSCOW, ambiguous="NaT",
                                   nonexistent="NaT").dt.tz_convert("UTC")
    if aware is not None and aware.notna().any():  # ISO with an offset: as written
        moscow.loc[aware.index[aware.notna()]] = aware[aware.notna()]
    return moscow, day_only


_PLAIN_TIME = r"^\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$"
_TIME_PARTS = {"day": (0, 2), "month": (3, 5), "year": (6, 10), "hour": (11, 13),
               "minute": (14, 16), "second": (17, 19)}


def _times_tolerant(texts: pd.Series, date_format: str = "",
                    split: bool = False) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Every accepted spelling, format by format: naive Moscow wall time, the UTC time
    of ISO texts with an offset, and which texts were a day alone."""
    cleaned = texts.str.strip().str.replace(r"\s+", " ", regex=True)
    result = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    aware = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns, UTC]")
    days = pd.Series(False, index=texts.index, dtype=bool)
    if date_format:
        with_time = "%H" in date_format
        formats = ((date_format,) if with_time else
                   (f"{date_format} %H:%M:%S", f"{date_format} %H:%M"))
        day_formats = () if with_time else (date_format,)
    else:
        formats, day_formats = _TEXT_FORMATS, _DAY_FORMATS
        iso = cleaned.str.fullmatch(_ISO_OFFSET).fillna(False).astype(bool)
        if iso.any():
            aware.loc[iso] = pd.to_datetime(cleaned[iso], format="ISO8601", utc=True,
                                            errors="coerce")
            result.loc[iso & aware.notna()] = pd.Timestamp(0)  # taken: by its offset
    for fmt in formats:
        todo = result.isna() & (cleaned != "")
        if not todo.any():
            break
        result.loc[todo] = pd.to_datetime(cleaned[todo], format=fmt, errors="coerce")
    for fmt in day_formats:
        todo = result.isna() & (cleaned != "")
        if not todo.any():
            break
        day = pd.to_datetime(cleaned[todo], format=fmt, errors="coerce")
        result.loc[todo] = day
        days.loc[todo] = day.notna()
    todo = result.isna() & cleaned.str.fullmatch(r"\d{5}([.,]\d+)?")
    if todo.any() and not date_format:  # an Excel date saved as a number: days since 1899-12-30
        serial = pd.to_numeric(cleaned[todo].str.replace(",", ".", regex=False),
                               errors="coerce")
        result.loc[todo] = (pd.Timestamp(_EXCEL_EPOCH)
                            + pd.to_timedelta(serial, unit="D")).dt.round("s")
    return result.where(aware.isna(), pd.NaT), aware, days


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
