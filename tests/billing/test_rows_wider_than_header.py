"""Issue 15, point 4 for every importer built on core.files.readers: a row with a filled cell
right of the header's last column is refused (its cell belongs to no column, and a row
shifted by a cell would load wrong values), worded as the bank registry words it; nothing
is stored. Trailing empty cells (Excel and 1C leave them) are still accepted. The bank
registry's own case: tests/finance/test_bank_files.py."""
from __future__ import annotations

import io

import pytest
import xlsxwriter

from core.billing import invoices, providers
from tests.billing.test_invoice_import_xlsx import accounts, as_csv, charges, xlsx
from tests.billing.test_providers import GOOD, load, new_provider, register
from tests.factories.billing import add_accounts, make_provider
from tests.factories.dbstate import snapshot

REGISTER_HEADER = ["Лицевой счет", "Адрес", "ФИО плательщика"]
WIDE_REGISTER_ROW = "1000000003;г. Пермь, ул. Мира, д. 3;Сидоров Сергей Петрович;кв. 7"
REFUSED = ": лишняя ячейка не относится ни к одному столбцу, строка не принята"


def register_file(kind: str, rows: list[str]) -> tuple[str, bytes]:
    """The register as a CSV or as an Excel sheet with the same cells."""
    if kind == "csv":
        return "r.csv", ("\n".join([";".join(REGISTER_HEADER), *rows]) + "\n").encode()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("Реестр")
    sheet.write_row(0, 0, REGISTER_HEADER)
    for r, row in enumerate(rows, start=1):
        for c, cell in enumerate(row.split(";")):
            if cell:
                sheet.write_string(r, c, cell)
    book.close()
    return "r.xlsx", buffer.getvalue()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_register_row_with_a_cell_more_than_the_header_refuses_the_file(app, kind):
    provider_id = new_provider(app)
    before = snapshot(app)
    name, data = register_file(kind, [*GOOD, WIDE_REGISTER_ROW])
    report = load(app, provider_id, name, data)
    assert not report.accepted and not report.already_loaded
    assert [p.text for p in report.problems] == [
        "Строка 4, «Столбец 4»: в строке 4 ячейки, а в заголовке 3 столбца" + REFUSED]
    assert report.summary.startswith(f"Файл «{name}» не принят, ничего не сохранено")
    assert snapshot(app) == before


def test_a_wide_register_row_is_reported_beside_its_other_problems(app):
    provider_id = new_provider(app)
    before = snapshot(app)
    report = load(app, provider_id, "r.csv", register_file("csv", [
        *GOOD, "12345;ул. Мира;Иванов Иван;лишнее", WIDE_REGISTER_ROW])[1])
    assert [(p.row, p.column) for p in report.problems] == [
        (4, "Лицевой счёт"), (4, "Столбец 4"), (5, "Столбец 4")]
    assert snapshot(app) == before


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_register_with_trailing_empty_cells_still_loads(app, kind):
    provider_id = new_provider(app)
    name, data = register_file(kind, [row + ";;" for row in GOOD])
    if kind == "csv":
        assert b"\xd0\xb2\xd0\xb8\xd1\x87;;\n" in data  # «…ович;;»: the cells are there
    report = providers.import_account_register(app, None, provider_id, name, data)
    assert report.accepted and report.created == 2, report.problems
    assert sorted(register(app, provider_id)) == ["1000000001", "1000000002"]


def _registry(kind: str, rows: list[list[object]]) -> tuple[str, bytes]:
    if kind == "csv":
        return "r.csv", as_csv(rows).encode()
    return "r.xlsx", xlsx(rows)


@pytest.mark.parametrize("kind, row", [("csv", 5), ("xlsx", 7)])  # the sheet has a title block
def test_a_billing_row_with_a_cell_more_than_the_header_refuses_the_file(app, kind, row):
    provider_id = make_provider(app)
    add_accounts(app, provider_id, accounts(2))
    rows = charges(2)
    rows[3].append("к оплате до 25-го")  # a note in the 12th cell of an 11-column file
    before = snapshot(app)
    name, data = _registry(kind, rows)
    report = invoices.import_billing_registry(app, None, provider_id, name, data)
    assert not report.accepted and not report.saved and report.invoices == 0
    assert [p.text for p in report.problems] == [
        f"Строка {row}, «Столбец 12»: в строке 12 ячеек, а в заголовке 11 столбцов" + REFUSED]
    assert report.rows == 10 and report.bad_rows == [row]
    assert snapshot(app) == before


def test_a_wide_billing_row_is_reported_after_its_other_problems(app):
    provider_id = make_provider(app)
    add_accounts(app, provider_id, accounts(2))
    rows = charges(2)
    rows[3][6] = 12.345  # a fraction of a kopeck
    rows[3].append("лишнее")
    rows[7].append("лишнее")
    before = snapshot(app)
    report = invoices.import_billing_registry(app, None, provider_id, "r.csv",
                                              as_csv(rows).encode())
    assert [(p.row, p.column) for p in report.problems] == [
        (5, "Начислено"), (5, "Столбец 12"), (9, "Столбец 12")]
    assert snapshot(app) == before


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_billing_registry_with_trailing_empty_cells_still_loads(app, kind):
    provider_id = make_provider(app)
    add_accounts(app, provider_id, accounts(2))
    rows = [[*row, "", None] for row in charges(2)]
    name, data = _registry(kind, rows)
    report = invoices.import_billing_registry(app, None, provider_id, name, data)
    assert report.saved and (report.invoices, report.lines) == (2, 10), report.problems

