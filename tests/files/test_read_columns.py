"""``read_columns``: the same cells as ``read_table``, column by column, for big files."""
from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import xlsxwriter

from core.files.readers import SourceRow, read_columns, read_table

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
COLUMNS = {"number": ("лицевой счет", "лс", "account"), "sum": ("сумма", "начислено", "accrued"),
           "day": ("дата", "срок оплаты", "due date"), "note": ("примечание",)}


def _xlsx(rows: list[list[object]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("Реестр")
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, (datetime, date, time, timedelta)):
                sheet.write_datetime(r, c, value, day)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.iterdir()
                                        if p.suffix in (".csv", ".xlsx")))
def test_every_sample_reads_the_same_by_rows_and_by_columns(name: str) -> None:
    from core.billing.invoice_import import COLUMNS as REGISTRY
    from core.billing.providers import REGISTER_COLUMNS

    data = (SAMPLES / name).read_bytes()
    for columns in (REGISTRY, REGISTER_COLUMNS):
        table = read_columns(name, data, columns)
        rows, missing = read_table(name, data, columns)
        assert table.rows() == rows and table.missing == missing
        assert len(table) == len(rows) and [r.number for r in rows] == table.numbers
        assert all(len(texts) == len(table) for texts in table.columns.values())
        if rows:
            assert table.row(len(rows) - 1) == rows[-1]


def test_spreadsheet_cells_become_the_texts_a_person_sees() -> None:
    data = _xlsx([
        ["Реестр за ноябрь"],
        [],
        ["ЛС", "Сумма", "Дата", "Примечание"],
        ["0012", 1234.5, datetime(2026, 11, 25), True],
        [1234567890, 1.0, datetime(2026, 11, 25, 14, 5), 1],  # 1, 1.0 and True: one text
        [None, None, None, None],  # an empty row keeps the numbering
        ["  с пробелами  ", 0.1 + 0.2, date(2026, 1, 2), False],
        ["   ", None, None, None],  # blanks only: empty too
        [-0.0, 1e20, datetime(2026, 11, 25, 14, 5, 7), 0],
    ])
    table = read_columns("r.xlsx", data, COLUMNS)
    assert table.missing == [] and table.numbers == [4, 5, 7, 9]
    assert table.columns == {
        "number": ["0012", "1234567890", "с пробелами", "0"],
        "sum": ["1234.5", "1", "0.3", "100000000000000000000"],
        "day": ["25.11.2026", "25.11.2026 14:05", "02.01.2026", "25.11.2026 14:05:07"],
        "note": ["1", "1", "0", "0"]}
    rows, _ = read_table("r.xlsx", data, COLUMNS)
    assert rows[1] == SourceRow(5, {"number": "1234567890", "sum": "1", "day": "25.11.2026 14:05",
                                    "note": "1"})


def test_missing_columns_and_short_rows_come_back_empty() -> None:
    text = "ЛС;Сумма\n1;2\n3\n\n4;5;лишнее\n"
    table = read_columns("r.csv", text.encode(), COLUMNS)
    assert table.missing == ["day", "note"] and table.numbers == [2, 3, 5]
    assert table.columns == {"number": ["1", "3", "4"], "sum": ["2", "", "5"],
                             "day": ["", "", ""], "note": ["", "", ""]}
    assert table.rows()[1] == SourceRow(3, {"number": "3", "sum": "", "day": "", "note": ""})


def test_no_header_no_rows() -> None:
    table = read_columns("r.csv", b"a;b\n1;2\n", COLUMNS)
    assert (table.numbers, table.missing, len(table)) == ([], list(COLUMNS), 0)
    assert table.rows() == [] and all(texts == [] for texts in table.columns.values())


def test_a_big_spreadsheet_reads_every_row_in_order() -> None:
    count = 30_000
    data = _xlsx([["ЛС", "Сумма", "Дата"]]
                 + [[f"{4_000_000_000 + n}", n / 100, datetime(2026, 12, 25)]
                    for n in range(count)])
    table = read_columns("big.xlsx", data, COLUMNS)
    assert table.numbers == list(range(2, count + 2))
    assert table.columns["number"][-1] == f"{4_000_000_000 + count - 1}"
    assert table.columns["sum"][:4] == ["0", "0.01", "0.02", "0.03"]
    assert table.columns["sum"][12345] == "123.45"
    assert set(table.columns["day"]) == {"25.12.2026"}
