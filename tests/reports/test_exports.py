"""Exports keep text as text: nothing a spreadsheet would run survives as a formula."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import openpyxl
import pytest

from core.reports.exports import Column, to_csv, to_xlsx

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

    from core.reports.exports import PROGRESS_EVERY, Column, Sheet, to_xlsx_sheets

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
    from core.db.models import StaffRole
    from core.reports import exports, progress
    from core.services import contact_center
    from tests.factories import make_staff, register

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
