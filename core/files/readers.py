"""Tolerant readers for the tables providers send us: CSV and XLSX as people make them.

Real-world files come from 1C, Excel and hand-made scripts: UTF-8 with or
without a BOM or Windows-1251, ``;`` or ``,`` separators, a title row or two
above the header, blank lines, header spellings that differ in case, spaces
and «ё». ``read_table`` hides all of that and hands back plain text cells keyed
by our own column names, with the row number the person sees in the file, so
every importer reports problems the same way («строка 7, Лицевой счёт: ...»).

Every importer (providers' account registers, billing registries, bank registries) uses
it; ``read_columns`` hands the same cells back column by column for the big files.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from collections.abc import Sequence
from typing import Any

from core.errors import DomainError

# The header is looked for among the first rows only: a title block is short.
HEADER_SEARCH_ROWS = 30
_DELIMITERS = (";", ",", "\t")
_XLSX_MAGIC = b"PK\x03\x04"  # a zip archive: xlsx, xlsm, ods
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary Excel format (OLE)
# Thousands may be grouped by a space, a non-breaking or a thin space (Excel, 1C, Word).
_NUMBER = re.compile(r"[+-]?(\d+|\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+)([.,]\d+)?")
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")


@dataclass(frozen=True)
class SourceRow:
    """One data row of a source file."""

    number: int  # 1-based, as the person sees it in the file (a header on top is row 1)
    values: dict[str, str]  # canonical column -> stripped text ("" when empty or missing)


@dataclass(frozen=True)
class SourceTable:
    """The data rows of a source file column by column: an importer of 100,000 rows
    checks a column's distinct texts once instead of every cell of every row."""

    numbers: list[int]  # the file's row number of each data row
    columns: dict[str, list[str]]  # canonical column -> stripped text of each data row
    missing: list[str]  # canonical columns the header lacks (their texts are all "")
    # Rows with filled cells right of the header's last column (the file's row number,
    # its cells up to the last filled one, the header's columns): every importer refuses
    # them, worded by ``extra_cell_problems``.
    extra_cells: list[tuple[int, int, int]] = field(default_factory=list)
    delimiter: str | None = None  # the CSV separator used; None for a spreadsheet

    def __len__(self) -> int:
        return len(self.numbers)

    def row(self, index: int) -> SourceRow:
        return SourceRow(self.numbers[index],
                         {name: texts[index] for name, texts in self.columns.items()})

    def rows(self) -> list[SourceRow]:
        names = list(self.columns)
        return [SourceRow(number, dict(zip(names, texts)))
                for number, *texts in zip(self.numbers, *self.columns.values())]


@dataclass(frozen=True)
class RowProblem:
    """One reason a row (or the header, ``row=None``) was refused, for the import report."""

    row: int | None  # the row number in the file; None: the file or its header as a whole
    column: str  # the column's Russian label as the report shows it
    reason: str

    @property
    def text(self) -> str:
        where = f"Строка {self.row}" if self.row is not None else "Заголовок файла"
        return f"{where}, «{self.column}»: {self.reason}"


def extra_cell_problem(number: int, cells: int, width: int) -> RowProblem:
    """A row with filled cells right of the header's last column (``SourceTable.extra_cells``)
    is refused: its extra cell belongs to no column, and a row shifted by one cell would
    load wrong values into the columns it does have."""
    return RowProblem(number, f"Столбец {width + 1}", (
        f"в строке {_count(cells, 'ячейка', 'ячейки', 'ячеек')}, а в заголовке "
        f"{_count(width, 'столбец', 'столбца', 'столбцов')}: лишняя ячейка "
        "не относится ни к одному столбцу, строка не принята"))


def _count(n: int, one: str, few: str, many: str) -> str:
    """«3 столбца», «5 столбцов», «21 столбец»: a register has 3 columns, a bank file 6."""
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} {one}"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} {few}"
    return f"{n} {many}"


def extra_cell_problems(table: SourceTable, limit: int | None = None) -> list[RowProblem]:
    """``extra_cell_problem`` of each row wider than the header (the first ``limit``)."""
    return [extra_cell_problem(number, cells, width)
            for number, cells, width in table.extra_cells[:limit]]


class FileUnreadable(DomainError):
    code = "file_unreadable"

    def __init__(self, file_name: str, why: str) -> None:
        super().__init__(f"Файл: не удалось прочитать «{file_name}»: {why}", field="file")


def header_key(text: str) -> str:
    """How header spellings are compared: case, spaces, punctuation and «ё» do not matter."""
    folded = str(text).casefold().replace("ё", "е")
    return "".join(ch for ch in folded if ch.isalnum())


def read_table(file_name: str, data: bytes,
               columns: dict[str, tuple[str, ...]]) -> tuple[list[SourceRow], list[str]]:
    """Read a CSV or XLSX table.

    ``columns`` maps our canonical column name to the header spellings we accept,
    e.g. ``{"number": ("лицевой счет", "лс", "account")}``. Returns the data rows
    (after the header, fully empty rows skipped; every canonical column present in
    ``values``, "" when the file lacks it) and the canonical columns the header
    lacks, for the caller to report. No header row found: no rows, every column
    missing. Raises ``FileUnreadable`` for a file that is neither text nor a
    spreadsheet.
    """
    table = read_columns(file_name, data, columns)
    return table.rows(), table.missing


def read_columns(file_name: str, data: bytes,
                 columns: dict[str, tuple[str, ...]]) -> SourceTable:
    """What ``read_table`` reads, column by column (the same texts, row numbers and
    missing columns; a missing column is a column of "")."""
    if not data:
        raise FileUnreadable(file_name, "файл пустой")
    if _is_spreadsheet(data):
        return _table(_spreadsheet_rows(file_name, data), columns)
    delimiter, grid = _csv_rows(file_name, _decode(file_name, data), columns)
    table = _table(grid, columns)
    return SourceTable(table.numbers, table.columns, table.missing, table.extra_cells,
                       delimiter)


def parse_decimal(text: str) -> Decimal:
    """«1 234,56», «1234.56», «-0,5», «1 000» -> Decimal; anything else -> ValueError.

    Spaces (also non-breaking ones) are accepted only as thousands separators,
    between groups of three digits; the decimal separator is a comma or a point.
    """
    value = str(text if text is not None else "").strip()
    if not _NUMBER.fullmatch(value):
        raise ValueError(f"not a number: {text!r}")
    try:
        return Decimal(_SPACES.sub("", value).replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise ValueError(f"not a number: {text!r}") from None


# --- decoding ---------------------------------------------------------------

def _is_spreadsheet(data: bytes) -> bool:
    """By content, not by name: a CSV saved as «.xls» by a provider's script is still CSV."""
    return data.startswith((_XLSX_MAGIC, _XLS_MAGIC))


def _decode(file_name: str, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's «Unicode text»
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileUnreadable(file_name, "повреждённый текст UTF-16") from None
    if b"\x00" in data[:4096]:
        raise FileUnreadable(file_name, "это не CSV и не XLSX")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise FileUnreadable(file_name, "кодировка не UTF-8 и не Windows-1251") from None


def _csv_rows(file_name: str, text: str,
              columns: dict[str, tuple[str, ...]]) -> tuple[str, list[list[str]]]:
    """Split with the separator under which a header row is found (ties: the most used)."""
    head = text[:65536]
    best: tuple[int, int, str] | None = None
    for delimiter in _DELIMITERS:
        try:
            sample = list(_limited(csv.reader(io.StringIO(head, newline=""),
                                              delimiter=delimiter), HEADER_SEARCH_ROWS))
        except csv.Error:
            continue
        matched = max((_matched(row, columns) for row in sample), default=0)
        score = (matched, head.count(delimiter), delimiter)
        if best is None or score[:2] > best[:2]:
            best = score
    delimiter = best[2] if best else ";"
    try:
        return delimiter, list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise FileUnreadable(file_name, f"ошибка разбора CSV ({error})") from None


def _limited(reader, limit: int):  # type: ignore[no-untyped-def]
    for index, row in enumerate(reader):
        if index >= limit:
            return
        yield row


def _spreadsheet_rows(file_name: str, data: bytes) -> list[list[Any]]:
    """The first visible sheet's cells as calamine gives them (text only when needed)."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        visible = [m.name for m in book.sheets_metadata
                   if str(m.visible).rsplit(".", 1)[-1].lower() == "visible"]
        sheet = book.get_sheet_by_name(visible[0] if visible else book.sheet_names[0])
        # skip_empty_area=False keeps row 1 of the sheet as row 1 here: the
        # report's row numbers must match what Excel shows.
        raw = sheet.to_python(skip_empty_area=False)
    except Exception as error:  # calamine raises several unrelated types for bad files
        raise FileUnreadable(file_name, f"это не таблица Excel ({type(error).__name__})") \
            from None
    return raw


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the person sees it: 1234567890 not 1234567890.0, dates dd.mm.yyyy."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        # Ten decimals hide binary noise of formulas (0.1 + 0.2) and keep real digits.
        return f"{value:.10f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d.%m.%Y %H:%M:%S" if value.second else "%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


# --- the table --------------------------------------------------------------

def _matched(row: list[str], columns: dict[str, tuple[str, ...]]) -> int:
    keys = {header_key(cell) for cell in row if str(cell).strip()}
    return sum(1 for spellings in columns.values()
               if any(header_key(s) in keys for s in spellings))


def _table(grid: list[list[Any]], columns: dict[str, tuple[str, ...]]) -> SourceTable:
    needed = min(2, len(columns))
    head = [[_cell_text(value) for value in row] for row in grid[:HEADER_SEARCH_ROWS]]
    header_index = next((i for i, row in enumerate(head)
                         if needed and _matched(row, columns) >= needed), None)
    if header_index is None:
        return SourceTable([], {name: [] for name in columns}, list(columns))
    positions = _positions(head[header_index], columns)
    missing = [name for name in columns if name not in positions]
    body = grid[header_index + 1:]
    first = header_index + 2  # the file's number of body[0]
    numbers = [n for n, cells in enumerate(body, start=first) if _filled(cells)]
    if len(numbers) < len(body):
        body = [body[n - first] for n in numbers]
    known: dict[Any, str] = {}  # cell value -> text, over all columns (totals repeat amounts)
    texts = {name: _column_texts(_cells(body, position), known)
             for name, position in positions.items()}
    for name in missing:
        texts[name] = [""] * len(numbers)
    return SourceTable(numbers, texts, missing,
                       _extra_cells(body, numbers, _width(head[header_index])))


def _width(cells: Sequence[Any]) -> int:
    """Cells up to the last filled one (trailing empty cells are nobody's column)."""
    for index in range(len(cells) - 1, -1, -1):
        cell = cells[index]
        if cell is not None and not (cell.__class__ is str and (not cell or cell.isspace())):
            return index + 1
    return 0


def _extra_cells(body: list[list[Any]], numbers: list[int],
                 width: int) -> list[tuple[int, int, int]]:
    return [(number, _width(cells), width) for number, cells in zip(numbers, body)
            if len(cells) > width and _width(cells) > width]


def _filled(cells: list[Any]) -> bool:
    """Not a fully empty row: some cell is not None and not blank text."""
    for cell in cells:
        if cell.__class__ is str:
            if cell and not cell.isspace():
                return True
        elif cell is not None:
            return True
    return False


def _cells(rows: list[list[Any]], position: int) -> list[Any]:
    """One column of the rows ("" where a row is too short)."""
    try:
        return [row[position] for row in rows]
    except IndexError:
        return [row[position] if position < len(row) else "" for row in rows]


def _column_texts(cells: Sequence[Any], known: dict[Any, str]) -> list[str]:
    """One column's cells as stripped text; ``known`` holds the texts of spreadsheet
    values met so far, and grows."""
    if set(map(type, cells)) <= {str}:
        return list(map(str.strip, cells))
    # Spreadsheet cells: each distinct value converted once. Values that compare equal
    # across types (1 == 1.0 == True) have the same text, so one key serves them all.
    for value in set(cells).difference(known):
        known[value] = _cell_text(value).strip()
    return list(map(known.__getitem__, cells))


def _positions(header: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Canonical column -> its index in the header (the leftmost match wins)."""
    keys = [header_key(cell) for cell in header]
    positions: dict[str, int] = {}
    taken: set[int] = set()
    for name, spellings in columns.items():
        wanted = {header_key(s) for s in spellings}
        for index, key in enumerate(keys):
            if key and key in wanted and index not in taken:
                positions[name] = index
                taken.add(index)
                break
    return positions
