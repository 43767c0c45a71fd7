"""Exports keep text as text: nothing a spreadsheet would run survives as a formula."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import openpyxl
import pytest

from core.files.exports import Column, to_csv, to_xlsx

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-1", "@x", "\t=1", "\r=1", "=1+1"]
COLUMNS = (Column("Имя"), Column("Сумма", "money"), Column("Когда", "datetime"))


def test_xlsx_holds_hostile_text_as_strings_not_formulas():
    data = to_xlsx(COLUMNS, [(text, 12345, None) for text in HOSTILE])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [sheet.cell(row=i + 2, column=1) for i in range(len(HOSTILE))]
    # The text itself, unchanged (openpyxl leaves OOXML's escape of CR, _x000D_, undecoded).
    assert [c.value.replace("_x000D_", "\r") for c in values] == HOSTILE
    assert all(c.data_type == "s" for c in values)  # 's' = string; a formula would be 'f'


def test_csv_neutralises_cells_a_spreadsheet_would_run():
    data = to_csv(COLUMNS, [(text, None, None) for text in HOSTILE + ["Иванов"]])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    names = [row[0] for row in rows[1:]]
    assert names[:-1] == ["'" + text for text in HOSTILE]
    assert names[-1] == "Иванов"


def test_xlsx_has_a_frozen_styled_header_filter_and_typed_cells():
    moment = datetime(2026, 11, 25, 11, 5, tzinfo=timezone.utc)
    data = to_xlsx(COLUMNS, [("Иванов", 123456, moment)])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == ["Имя", "Сумма", "Когда"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C2"
    assert sheet["A1"].font.bold
    assert sheet["B2"].value == pytest.approx(1234.56) and "₽" in sheet["B2"].number_format
    assert sheet["C2"].value == datetime(2026, 11, 25, 14, 5)  # Moscow wall time
    assert sheet["C2"].number_format == "dd.mm.yyyy hh:mm"


def test_csv_formats_money_and_dates_the_russian_way():
    moment = datetime(2026, 11, 25, 11, 5, tzinfo=timezone.utc)
    rows = list(csv.reader(io.StringIO(to_csv(COLUMNS, [("A", 123456, moment)])
                                       .decode("utf-8-sig")), delimiter=";"))
    assert rows[1] == ["A", "1234,56", "25.11.2026 14:05"]


def test_several_sheets_with_progress() -> None:
    import io

    import openpyxl

    from core.files.exports import PROGRESS_EVERY, Column, Sheet, to_xlsx_sheets

    heard: list[int] = []
    rows = ((n, f"=строка {n}") for n in range(PROGRESS_EVERY + 3))
    data = to_xlsx_sheets([Sheet("Итоги", [Column("Класс"), Column("Строк", "int")],
                                 [("Совпало", 3)]),
                           Sheet("Все строки", [Column("№", "int"), Column("Текст")], rows)],
                          progress=heard.append)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Итоги", "Все строки"]
    sheet = book["Все строки"]
    assert sheet.max_row == PROGRESS_EVERY + 4 and sheet["B2"].value == "=строка 0"
    assert sheet["B2"].data_type == "s"  # text, not a formula
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    assert heard == [PROGRESS_EVERY, PROGRESS_EVERY + 4]


def test_an_audited_export_reports_its_progress_to_a_listener(app) -> None:
    """The page's progress bar hears rows written against the rows expected."""
    from core.actors import StaffRole
    from core.files import exports, progress
    from core.customers import contact_center
    from tests.factories.customers import make_staff, register

    for n in range(7):
        register(app, phone=f"+7 912 000-11-{n:02d}", email=f"p{n}@example.ru")
    agent = make_staff(app, StaffRole.AGENT)
    heard: list[tuple[int, int | None]] = []
    original = exports.PROGRESS_EVERY
    exports.PROGRESS_EVERY = 3
    try:
        with progress.reporting(lambda written, total: heard.append((written, total))):
            contact_center.export_customer_search(app, agent, "912 000")
    finally:
        exports.PROGRESS_EVERY = original
    assert heard == [(3, 7), (6, 7), (7, 7)]
    assert progress.reporter(7) is None  # nobody listens outside the block


# --- every kind of column, read back ------------------------------------------------------

KINDS = (Column("№", "int"), Column("Сумма", "money"), Column("День", "date"),
         Column("Когда", "datetime"), Column("Текст"))


def test_each_kind_is_written_with_its_type_and_number_format() -> None:
    from datetime import date
    from decimal import Decimal

    moment = datetime(2026, 11, 25, 21, 30, tzinfo=timezone.utc)  # 00:30 next day in Moscow
    rows = [(7, 123456, date(2026, 11, 25), moment, "Иванов"),
            (-3, Decimal("-1050"), datetime(2026, 12, 1, 23, 59), datetime(2026, 1, 2, 3, 4),
             12345)]  # a datetime in a date column keeps its day; naive moments are UTC
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(KINDS, rows))).active
    first = [c for c in sheet[2]]
    second = [c for c in sheet[3]]
    assert [c.value for c in first] == [7, pytest.approx(1234.56), datetime(2026, 11, 25),
                                        datetime(2026, 11, 26, 0, 30), "Иванов"]
    assert [c.value for c in second] == [-3, pytest.approx(-10.5), datetime(2026, 12, 1),
                                         datetime(2026, 1, 2, 6, 4), "12345"]
    assert [c.number_format for c in first] == ["0", '#,##0.00 "₽"', "dd.mm.yyyy",
                                                "dd.mm.yyyy hh:mm", "General"]
    assert [c.data_type for c in second] == ["n", "n", "d", "d", "s"]


def test_money_is_rounded_exactly_from_kopecks() -> None:
    kopecks = [1, 10, 99, 12345678901, -1, 2**53 + 1]
    sheet = openpyxl.load_workbook(io.BytesIO(
        to_xlsx([Column("Сумма", "money")], [(k,) for k in kopecks]))).active
    assert [sheet.cell(row=n + 2, column=1).value for n in range(len(kopecks))] == \
        [k / 100 for k in kopecks]


def test_values_of_an_unexpected_type_become_text_never_formulas() -> None:
    from datetime import date

    rows = [("=1+1", "=SUM(A1:A9)", "+7 912", "-5", "@x"),
            ("—", 12.5, "2026-11-25", date(2026, 11, 25), None)]
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(KINDS, rows))).active
    assert [c.value for c in sheet[2]] == ["=1+1", "=SUM(A1:A9)", "+7 912", "-5", "@x"]
    assert all(c.data_type == "s" for c in sheet[2])
    # a float is not kopecks and a date is not a moment: shown as they are, as text
    assert [c.value for c in sheet[3]] == ["—", "12.5", "2026-11-25", "2026-11-25", None]


def test_empty_cells_stay_empty() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(
        to_xlsx(KINDS, [(None, "", None, "", ""), (1, 0, None, None, "x")]))).active
    assert [c.value for c in sheet[2]] == [None] * 5
    assert [c.value for c in sheet[3]] == [1, 0, None, None, "x"]


def test_a_big_export_reads_back_whole_with_widths_and_filter() -> None:
    from python_calamine import CalamineWorkbook

    from core.files.exports import PROGRESS_EVERY

    count = 2 * PROGRESS_EVERY + 7
    moment = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
    heard: list[int] = []
    data = to_xlsx(KINDS, ((n, n * 101, None, moment, f"строка {n}") for n in range(count)),
                   sheet="Платежи", progress=heard.append)
    assert heard == [PROGRESS_EVERY, 2 * PROGRESS_EVERY, count]
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Платежи") \
        .to_python()
    assert len(rows) == count + 1 and rows[0] == [c.title for c in KINDS]
    assert rows[-1] == [count - 1, (count - 1) * 101 / 100, "", datetime(2026, 3, 1, 12, 0),
                        f"строка {count - 1}"]
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.auto_filter.ref == f"A1:E{count + 1}" and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == pytest.approx(18, abs=1)


def test_an_export_that_fails_half_way_leaves_no_temporary_files(tmp_path, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def rows():  # type: ignore[no-untyped-def]
        for n in range(100):
            yield (n, 100, None, None, "x")
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        to_xlsx(KINDS, rows())
    assert list(tmp_path.iterdir()) == []
    to_xlsx(KINDS, [(1, 1, None, None, "x")])
    assert list(tmp_path.iterdir()) == []


def test_a_mixed_column_writes_each_cell_with_its_own_kind() -> None:
    from decimal import Decimal

    from core.files.exports import Typed

    rows = [(Typed(123456, "money"),), (Typed(Decimal("0.853"), "rate"),),
            (Typed(Decimal("0.025"), "points"),), (Typed(7, "int"),), ("—",)]
    columns = [Column("Значение", "mixed")]
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(columns, rows))).active
    cells = [sheet.cell(row=n, column=1) for n in range(2, 7)]
    assert [c.value for c in cells] == [pytest.approx(1234.56), pytest.approx(0.853),
                                        pytest.approx(2.5), 7, "—"]
    assert [c.number_format for c in cells] == [
        '#,##0.00 "₽"', "0.0%", '+0.0" п.п.";-0.0" п.п.";0.0" п.п."', "0", "General"]
    assert to_csv(columns, rows).decode("utf-8-sig").split("\r\n")[1:6] == [
        "1234,56", "85,3", "2,5", "7", "—"]
