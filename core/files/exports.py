"""Excel and CSV exports, one module for every list.

XLSX is written with xlsxwriter in constant-memory mode (about 3x faster than
openpyxl for writing, per PERFORMANCE.md): styled frozen header, autofilter,
column widths, date and money formats. Every text cell is written with
``write_string`` so nothing becomes a formula; CSV cells that a spreadsheet
would run (``= + - @``, tab, CR) get a leading apostrophe, since CSV has no
way to say "this is text".
"""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import xlsxwriter

from core.timefmt import MOSCOW, as_utc

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
Kind = Literal["text", "int", "money", "date", "datetime", "rate", "points", "mixed"]
# Excel's own codes: «,» is the thousands separator of the reader's locale (a space in a
# Russian Excel: «1 234 567,50 ₽»); a literal space, as in «# ##0», groups only once.
MONEY_FORMAT = '#,##0.00 "₽"'
RATE_FORMAT = "0.0%"  # a fraction 0..1: 0.853 reads «85,3 %»
POINTS_FORMAT = '+0.0" п.п.";-0.0" п.п.";0.0" п.п."'  # a change of a rate, in points


@dataclass(frozen=True)
class Column:
    title: str  # Russian header
    kind: Kind = "text"
    width: int = 18


@dataclass(frozen=True)
class Typed:
    """A cell that says its own kind, for a column of kind "mixed" whose rows differ in
    unit (a sheet of KPIs: counts, money and rates in one column)."""

    value: object
    kind: Kind


def neutralise_csv(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _local(moment: datetime) -> datetime:
    """Excel has no time zones: write Moscow wall time, as the UI shows it."""
    return as_utc(moment).astimezone(MOSCOW).replace(tzinfo=None)


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: its name (Excel keeps 31 characters), columns and rows."""

    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[object]]


# Called every PROGRESS_EVERY rows with the rows written so far (for a progress bar).
Progress = Callable[[int], None]
PROGRESS_EVERY = 5_000


def to_xlsx(columns: Sequence[Column], rows: Iterable[Sequence[object]],
            sheet: str = "Данные", progress: Progress | None = None) -> bytes:
    return to_xlsx_sheets([Sheet(sheet, columns, rows)], progress)


def to_xlsx_sheets(sheets: Sequence[Sheet], progress: Progress | None = None) -> bytes:
    """A workbook of several sheets (e.g. a reconciliation: summary + one per class),
    each with the styled frozen header, autofilter, widths and number formats.

    Constant-memory mode writes a row at a time, so rows may be a generator of
    millions without holding them; ``progress`` hears every PROGRESS_EVERY rows."""
    buffer = io.BytesIO()
    # constant_memory without in_memory: xlsxwriter silently drops constant_memory when
    # in_memory is set and then holds every cell until close() (100,000 x 12 cells:
    # +250 MB, no faster; benchmarks/excel.py). Its row files go to a directory of
    # our own, so an export that fails half-way leaves nothing behind.
    with tempfile.TemporaryDirectory(prefix="xlsx-export-") as tmpdir:
        book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "tmpdir": tmpdir,
                                            "strings_to_formulas": False,
                                            "strings_to_urls": False})
        header = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1,
                                  "text_wrap": True, "valign": "top"})
        formats = {"money": book.add_format({"num_format": MONEY_FORMAT}),
                   "rate": book.add_format({"num_format": RATE_FORMAT}),
                   "points": book.add_format({"num_format": POINTS_FORMAT}),
                   "date": book.add_format({"num_format": "dd.mm.yyyy"}),
                   "datetime": book.add_format({"num_format": "dd.mm.yyyy hh:mm"}),
                   "int": book.add_format({"num_format": "0"})}
        every = PROGRESS_EVERY
        written = 0
        for sheet in sheets:
            ws = book.add_worksheet(sheet.name[:31])
            columns = sheet.columns
            for index, column in enumerate(columns):
                ws.set_column(index, index, column.width)
                ws.write_string(0, index, column.title, header)
            ws.freeze_panes(1, 0)
            # The writer of each column is chosen once: per cell there is one call,
            # not a chain of kind and type tests.
            writers = list(enumerate(_writer(ws, c.kind, formats) for c in columns))
            count = 0
            for count, row in enumerate(sheet.rows, start=1):
                for (index, put), value in zip(writers, row):
                    if value is not None and value != "":
                        put(count, index, value)
                written += 1
                if progress is not None and written % every == 0:
                    progress(written)
            ws.autofilter(0, 0, max(count, 1), len(columns) - 1)
        book.close()
    if progress is not None:
        progress(written)
    return buffer.getvalue()


CellWriter = Callable[[int, int, Any], object]


def _writer(ws: Any, kind: Kind, formats: dict[str, Any]) -> CellWriter:
    """How one column's non-empty cells are written; a value of an unexpected type is
    written as text (never a formula, whatever it starts with)."""
    # The undecorated methods behind write_number() & co. (write_row() calls them too):
    # the public ones first try to parse "A1" cell names, 10% of an export's time.
    number = getattr(ws, "_write_number", ws.write_number)
    string = getattr(ws, "_write_string", ws.write_string)
    moment = getattr(ws, "_write_datetime", ws.write_datetime)
    if kind == "mixed":
        by_kind: dict[Kind, CellWriter] = {}

        def put_typed(row: int, col: int, value: Any) -> object:
            if not isinstance(value, Typed):
                return string(row, col, str(value))
            if value.kind not in by_kind:
                by_kind[value.kind] = _writer(ws, value.kind, formats)
            return by_kind[value.kind](row, col, value.value)
        return put_typed
    if kind in ("rate", "points"):
        share = formats[kind]
        # «points» are a fraction's change too (0.025 is +2,5 п.п.): shown times 100.
        scale = 1 if kind == "rate" else 100

        def put_share(row: int, col: int, value: Any) -> object:
            if isinstance(value, (int, float, Decimal)):
                return number(row, col, float(value) * scale, share)
            return string(row, col, str(value))
        return put_share
    if kind == "money":
        money = formats["money"]

        def put_money(row: int, col: int, value: Any) -> object:
            if value.__class__ is int:  # kopecks; int / 100 rounds exactly like Decimal
                return number(row, col, value / 100, money)
            if isinstance(value, (int, Decimal)):
                return number(row, col, float(Decimal(value) / 100), money)
            return string(row, col, str(value))
        return put_money
    if kind == "datetime":
        stamp = formats["datetime"]

        def put_datetime(row: int, col: int, value: Any) -> object:
            if isinstance(value, datetime):
                return moment(row, col, _local(value), stamp)
            return string(row, col, str(value))
        return put_datetime
    if kind == "date":
        day = formats["date"]

        def put_date(row: int, col: int, value: Any) -> object:
            if isinstance(value, date):
                return moment(row, col, datetime(value.year, value.month, value.day), day)
            return string(row, col, str(value))
        return put_date
    if kind == "int":
        whole = formats["int"]

        def put_int(row: int, col: int, value: Any) -> object:
            if isinstance(value, int):
                return number(row, col, value, whole)
            return string(row, col, str(value))
        return put_int

    def put_text(row: int, col: int, value: Any) -> object:
        return string(row, col, str(value))
    return put_text


def to_csv(columns: Sequence[Column], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with BOM and ';' — what Russian Excel opens correctly by double-click."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.title for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(c.kind, v) for c, v in zip(columns, row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_cell(kind: Kind, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Typed):
        return _csv_cell(value.kind, value.value)
    if kind in ("rate", "points") and isinstance(value, (int, float, Decimal)):
        return f"{Decimal(str(value)) * 100:.1f}".replace(".", ",")
    if kind == "datetime" and isinstance(value, datetime):
        return _local(value).strftime("%d.%m.%Y %H:%M")
    if kind == "date" and isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if kind == "money" and isinstance(value, (int, Decimal)):
        return f"{Decimal(value) / 100:.2f}".replace(".", ",")
    return neutralise_csv(str(value))
