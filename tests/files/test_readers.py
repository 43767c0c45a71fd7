"""The tolerant table reader: encodings, separators, header rows, spreadsheets."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter

from core.errors import DomainError
from core.files.readers import (FileUnreadable, RowProblem, SourceRow, extra_cell_problem,
                                header_key, parse_decimal, read_table)

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
COLUMNS = {"number": ("лицевой счет", "лс", "л/с", "номер лицевого счета", "account"),
           "address": ("адрес", "адрес помещения", "address"),
           "payer": ("фио", "фио плательщика", "собственник", "payer")}
HEADER = ["Лицевой счёт", "Адрес", "ФИО плательщика"]
DATA = [["1234567890", "г. Пермь, ул. Ленина, д. 1, кв. 2", "Иванов Иван Иванович"],
        ["2234567890", "г. Пермь, ул. «Звезды», д. 3", "Ёжикова Алёна Фёдоровна"],
        ["3234567890", "с. Ильинское; ул. Мира, 7", "Петров Пётр Петрович"]]


def _csv(rows: list[list[str]], sep: str) -> str:
    def cell(value: str) -> str:
        if any(ch in value for ch in (sep, '"', "\n", ",", ";")):
            return '"' + value.replace('"', '""') + '"'
        return value
    return "".join(sep.join(cell(v) for v in row) + "\r\n" for row in rows)


def _values(rows: list[SourceRow]) -> list[list[str]]:
    return [[r.values["number"], r.values["address"], r.values["payer"]] for r in rows]


# --- the sample files ------------------------------------------------------------

def test_vodokanal_sample_utf8_comma():
    rows, missing = read_table("accounts_vodokanal.csv",
                               (SAMPLES / "accounts_vodokanal.csv").read_bytes(), COLUMNS)
    assert missing == [] and len(rows) == 30
    assert rows[0].number == 2 and rows[-1].number == 31
    assert rows[0].values["number"] == "4700340220"
    assert rows[0].values["address"].startswith("г. Пермь, ул.")  # the quoted commas stay
    assert len(rows[0].values["payer"].split()) == 3
    assert any("-" in r.values["number"] for r in rows)  # as printed on receipts


def test_teplo_sample_cp1251_semicolon_with_a_title_row():
    rows, missing = read_table("accounts_teplo_cp1251.csv",
                               (SAMPLES / "accounts_teplo_cp1251.csv").read_bytes(), COLUMNS)
    assert missing == [] and len(rows) == 25
    assert rows[0].number == 3  # title row 1, header row 2
    assert rows[0].values["number"] == "30021464"
    assert all(r.values["address"].startswith("г. Пермь") for r in rows)
    assert "№ п/п" not in rows[0].values  # columns we did not ask for are dropped


def test_teplo_sample_reads_the_same_as_its_utf8_twins():
    data = (SAMPLES / "accounts_teplo_cp1251.csv").read_bytes()
    text = data.decode("cp1251")
    original = read_table("t.csv", data, COLUMNS)
    assert read_table("t.csv", text.encode("utf-8"), COLUMNS) == original
    assert read_table("t.csv", text.encode("utf-8-sig"), COLUMNS) == original
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    comma = io.StringIO(newline="")
    csv.writer(comma, delimiter=",").writerows(records)  # quotes the addresses' commas
    assert read_table("t.csv", comma.getvalue().encode("utf-8"), COLUMNS) == original


def test_energo_sample_xlsx_cells_come_back_as_text():
    rows, missing = read_table("accounts_energo.xlsx",
                               (SAMPLES / "accounts_energo.xlsx").read_bytes(),
                               {**COLUMNS, "opened": ("дата открытия",)})
    assert missing == [] and len(rows) == 40
    assert rows[0].number == 4  # title, blank row, header: as Excel numbers the rows
    assert rows[0].values["number"] == "400000000001"  # a number cell, without «.0»
    assert rows[0].values["opened"] == "01.01.2015"


def test_bad_sample_is_read_whole_for_the_importer_to_judge():
    rows, missing = read_table("accounts_bad.csv", (SAMPLES / "accounts_bad.csv").read_bytes(),
                               COLUMNS)
    assert missing == [] and [r.number for r in rows] == list(range(2, 11))
    assert rows[6].values["number"] == ""  # an empty cell is "", not missing


# --- synthetic files: every encoding x separator x title rows ---------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("sep", [";", ",", "\t"])
@pytest.mark.parametrize("title_rows", [0, 1, 3])
def test_every_encoding_separator_and_title_block_reads_the_same_rows(encoding, sep, title_rows):
    title = [["Реестр лицевых счетов, ноябрь 2026"], [""], ["Поставщик: ООО «Тепло»"]][:title_rows]
    data = _csv(title + [HEADER] + DATA, sep).encode(encoding)
    rows, missing = read_table("file.csv", data, COLUMNS)
    assert missing == []
    assert _values(rows) == DATA
    assert [r.number for r in rows] == [title_rows + 2, title_rows + 3, title_rows + 4]


def test_header_spellings_ignore_case_spaces_punctuation_and_yo():
    header = ["  ЛИЦЕВОЙ   СЧЕТ ", "адрес помещения", "Ф.И.О."]
    rows, missing = read_table("f.csv", _csv([header] + DATA, ";").encode(), COLUMNS)
    assert missing == [] and _values(rows) == DATA
    assert header_key(" Лицевой  счёт № ") == header_key("лицевой счет") == "лицевойсчет"


def test_columns_in_any_order_with_extra_ones():
    header = ["№", "ФИО", "Примечание", "Адрес", "Л/С"]
    body = [["1", d[2], "—", d[1], d[0]] for d in DATA]
    rows, missing = read_table("f.csv", _csv([header] + body, ";").encode(), COLUMNS)
    assert missing == [] and _values(rows) == DATA


def test_missing_columns_are_reported_and_come_back_empty():
    rows, missing = read_table("f.csv", "ЛС;Адрес\n1;ул. Мира\n".encode(), COLUMNS)
    assert missing == ["payer"]
    assert rows == [SourceRow(2, {"number": "1", "address": "ул. Мира", "payer": ""})]


def test_a_file_without_a_recognisable_header_has_no_rows_and_every_column_missing():
    rows, missing = read_table("f.csv", b"a;b;c\n1;2;3\n", COLUMNS)
    assert rows == [] and missing == ["number", "address", "payer"]


def test_fully_empty_rows_are_skipped_but_row_numbers_stay_true():
    text = "ЛС;Адрес;ФИО\n\n1;ул. Мира;Иванов И. И.\n;;\n ; ;\n2;ул. Ленина;Петров П. П.\n"
    rows, _ = read_table("f.csv", text.encode(), COLUMNS)
    assert [(r.number, r.values["number"]) for r in rows] == [(3, "1"), (6, "2")]


def test_short_rows_are_padded_and_cells_stripped():
    rows, _ = read_table("f.csv", "ЛС;Адрес;ФИО\n  77  ;  ул. Мира \n".encode(), COLUMNS)
    assert rows[0].values == {"number": "77", "address": "ул. Мира", "payer": ""}


def test_quoted_fields_keep_separators_quotes_and_line_breaks():
    text = 'ЛС,Адрес,ФИО\r\n1,"ул. Мира, д. 1; ""угловой""\r\nподъезд 2",Иванов\r\n2,ул. Ленина,Петров\r\n'
    rows, _ = read_table("f.csv", text.encode(), COLUMNS)
    assert rows[0].values["address"] == 'ул. Мира, д. 1; "угловой"\r\nподъезд 2'
    assert [r.number for r in rows] == [2, 3]  # records, as a spreadsheet numbers them


def test_content_decides_the_format_not_the_file_name():
    rows, _ = read_table("named_like_excel.xlsx", _csv([HEADER] + DATA, ";").encode(), COLUMNS)
    assert _values(rows) == DATA


# --- spreadsheets -------------------------------------------------------------------

def _xlsx(build) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    build(book)
    book.close()
    return buffer.getvalue()


def test_xlsx_numbers_dates_and_header_below_a_title():
    def build(book):  # type: ignore[no-untyped-def]
        sheet = book.add_worksheet("Реестр")
        day = book.add_format({"num_format": "dd.mm.yyyy"})
        sheet.write(0, 0, "Реестр начислений")
        sheet.write_row(3, 1, ["ЛС", "Сумма", "Дата", "Время"])
        sheet.write_number(4, 1, 1234567890)
        sheet.write_number(4, 2, 1234.5)
        sheet.write_datetime(4, 3, datetime(2026, 11, 25), day)
        sheet.write_datetime(4, 4, datetime(2026, 11, 25, 14, 5), day)
        sheet.write_number(6, 1, 42)
        sheet.write_formula(6, 2, "=0.1+0.2", None, 0.30000000000000004)
    columns = {"number": ("лс",), "sum": ("сумма",), "day": ("дата",), "at": ("время",)}
    rows, missing = read_table("r.xlsx", _xlsx(build), columns)
    assert missing == []
    assert rows[0] == SourceRow(5, {"number": "1234567890", "sum": "1234.5", "day": "25.11.2026",
                                    "at": "25.11.2026 14:05"})
    assert rows[1].number == 7 and rows[1].values["number"] == "42"
    assert rows[1].values["sum"] == "0.3"


def test_xlsx_hidden_first_sheet_is_skipped():
    def build(book):  # type: ignore[no-untyped-def]
        hidden = book.add_worksheet("Служебный")
        hidden.write_row(0, 0, ["ЛС", "Адрес", "ФИО"])
        hidden.write_row(1, 0, ["999", "не тот лист", "—"])
        hidden.hide()
        visible = book.add_worksheet("Реестр")
        visible.write_row(0, 0, HEADER)
        for i, row in enumerate(DATA, 1):
            visible.write_row(i, 0, row)
        visible.activate()
    rows, _ = read_table("r.xlsx", _xlsx(build), COLUMNS)
    assert _values(rows) == DATA


# --- unreadable files ---------------------------------------------------------------

def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize("data", [
    pytest.param(b"", id="empty"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), id="png"),
    pytest.param(_zip(), id="zip-not-xlsx"),
    pytest.param(b"PK\x03\x04broken", id="broken-xlsx"),
    pytest.param(b"\xd0\xcf\x11\xe0" + bytes(100), id="broken-xls"),
    pytest.param("ЛС;Адрес".encode("cp1251") + b"\x98", id="not-utf8-not-cp1251"),
])
def test_unreadable_file_is_a_domain_error_naming_the_file(data):
    with pytest.raises(FileUnreadable) as error:
        read_table("реестр.dat", data, COLUMNS)
    assert isinstance(error.value, DomainError)
    assert str(error.value).startswith("Файл: не удалось прочитать «реестр.dat»")


def test_row_problem_text():
    assert RowProblem(7, "Лицевой счёт", "10 цифр").text == "Строка 7, «Лицевой счёт»: 10 цифр"
    assert RowProblem(None, "Адрес", "нет столбца").text == "Заголовок файла, «Адрес»: нет столбца"


# --- numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1 234,56", "1234.56"), ("1\u00a0234,56", "1234.56"), ("1\u202f234\u202f567,8", "1234567.8"),
    ("1234.56", "1234.56"), ("-12,5", "-12.5"), ("+3", "3"), ("0", "0"), (" 7,000 ", "7.000"),
    ("1 000", "1000"),
])
def test_parse_decimal_accepts_russian_and_plain_notation(text, value):
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", " ", "abc", "1,2,3", "1.234,56", "1,234.56", "12 34",
                                  "1 2345", ",5", "5,", "1e5", "NaN", "Infinity", "--1", None])
def test_parse_decimal_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_decimal(text)


def test_dates_are_not_parsed_as_numbers():
    with pytest.raises(ValueError):
        parse_decimal(date(2026, 11, 25).strftime("%d.%m.%Y"))


@pytest.mark.parametrize("cells, width, counts", [
    (4, 3, "в строке 4 ячейки, а в заголовке 3 столбца"),
    (7, 6, "в строке 7 ячеек, а в заголовке 6 столбцов"),
    (12, 11, "в строке 12 ячеек, а в заголовке 11 столбцов"),
    (22, 21, "в строке 22 ячейки, а в заголовке 21 столбец"),
])
def test_a_row_wider_than_the_header_is_worded_with_both_counts(cells, width, counts):
    """The one wording every importer (registers, billing and bank registries) refuses with."""
    assert extra_cell_problem(9, cells, width).text == (
        f"Строка 9, «Столбец {width + 1}»: {counts}: лишняя ячейка не относится ни к одному "
        "столбцу, строка не принята")
