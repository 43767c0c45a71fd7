"""Billing registries as big spreadsheets: loaded whole and exactly, refused with every bad
row worded as for a CSV, and the checks that run column by column agree with the row rules."""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter

from core.billing.invoice_rules import InvoiceStatus
from core.billing import invoices
from tests.factories.billing import BAD_FILE, VODOKANAL_FILE, add_accounts, make_provider, vodokanal
from tests.factories.dbstate import snapshot
from tests.billing.test_invoice_import import HEADER, invoice_table, load, load_text

TITLES = HEADER.split(";")
SERVICES = (("Холодное водоснабжение", "м3", 52.70), ("Горячее водоснабжение", "м3", 248.15),
            ("Водоотведение", "м3", 43.90), ("Отопление", "Гкал", 3053.44),
            ("Электроэнергия", "кВт·ч", 6.92))


def accounts(count: int) -> list[str]:
    return [f"{4_100_000_000 + n}" for n in range(count)]


def charges(count: int) -> list[list[object]]:
    """``count`` accounts x 5 services, November 2026, due 25.12.2026: the cells as a
    provider's Excel holds them (text accounts and period, numbers, an Excel date)."""
    rows: list[list[object]] = []
    for i, account in enumerate(accounts(count)):
        for j, (service, unit, tariff) in enumerate(SERVICES):
            kopecks = 10_000 + (i * 7919 + j * 13) % 500_000
            debt = -kopecks // 2 if (i + j) % 11 == 0 else 0
            rows.append([account, "11.2026", service, unit, i % 17 + j / 1000, tariff,
                         kopecks / 100, 0, debt / 100, (kopecks + debt) / 100,
                         datetime(2026, 12, 25)])
    return rows


def xlsx(rows: list[list[object]], title: bool = True) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("Начисления")
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    top = 0
    if title:
        sheet.write_string(0, 0, "Реестр начислений за ноябрь 2026")
        top = 2  # a blank row under the title
    sheet.write_row(top, 0, TITLES)
    for r, row in enumerate(rows, start=top + 1):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, day)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def as_csv(rows: list[list[object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, datetime):
            return f"{value:%d.%m.%Y}"
        if isinstance(value, float):
            return (f"{value:.3f}".rstrip("0").rstrip(".")).replace(".", ",")
        return "" if value is None else str(value)
    return "\n".join([HEADER] + [";".join(cell(v) for v in row) for row in rows]) + "\n"


def test_a_big_xlsx_registry_loads_every_invoice_exactly(app):
    provider_id = make_provider(app)
    add_accounts(app, provider_id, accounts(600))
    rows = charges(600)
    heard: list[tuple[int, int]] = []
    report = invoices.import_billing_registry(app, None, provider_id, "big.xlsx", xlsx(rows),
                                              lambda done, total: heard.append((done, total)))
    assert report.saved and not report.problems, report.problems[:3]
    expected_total = sum(round(row[9] * 100) for row in rows)  # type: ignore[operator]
    assert (report.rows, report.invoices, report.lines, report.total_due) == \
        (3000, 600, 3000, expected_total)
    assert heard[0] == (0, 3000) and heard[-1] == (3000, 3000)
    table = invoice_table(app, provider_id)
    assert len(table) == 600
    total_due, due, status, paid, lines = table[(accounts(600)[11], date(2026, 11, 1))]
    assert (due, paid) == (date(2026, 12, 25), 0)
    # account 11: service 0 carries a prepayment of half its charge ((11 + 0) % 11 == 0)
    kopecks = 10_000 + 11 * 7919 % 500_000
    debt = -kopecks // 2
    assert lines[0] == (1, "Холодное водоснабжение", "м3", Decimal("11.000"), 5270, kopecks, 0,
                        debt, kopecks + debt)
    assert lines[3][:5] == (4, "Отопление", "Гкал", Decimal("11.003"), 305344)
    assert [line[1] for line in lines] == [s for s, _, _ in SERVICES]
    assert total_due == sum(line[8] for line in lines) and status is InvoiceStatus.UNPAID
    assert sum(t for t, *_ in table.values()) == expected_total


def test_the_xlsx_and_its_csv_twin_load_the_same_invoices(app):
    rows = charges(40)
    from_xlsx, from_csv = make_provider(app), make_provider(app)
    add_accounts(app, from_xlsx, accounts(40))
    add_accounts(app, from_csv, accounts(40))
    assert invoices.import_billing_registry(app, None, from_xlsx, "r.xlsx", xlsx(rows)).saved
    assert load_text(app, from_csv, as_csv(rows)).saved
    assert invoice_table(app, from_xlsx) == invoice_table(app, from_csv)


def test_bad_rows_among_thousands_are_each_reported_and_nothing_is_saved(app):
    provider_id = make_provider(app)
    add_accounts(app, provider_id, accounts(400))
    rows = charges(400)
    rows[10][0] = "4199999999"  # not in the register
    rows[500][6] = 12.345  # a fraction of a kopeck
    rows[1200][9] = 1.0  # not accrued + recalculation + debt
    rows[1999][10] = datetime(2026, 10, 31)  # before the period, and not the invoice's date
    rows[1500][2] = None  # a required cell left empty
    rows[1500][4] = -1.0  # and a negative volume in the same row
    before = snapshot(app)
    report = invoices.import_billing_registry(app, None, provider_id, "bad.xlsx", xlsx(rows))
    assert snapshot(app) == before and not report.saved
    # the header is on row 3: data row n is the file's row n + 4
    assert [(p.row, p.column, p.reason) for p in report.problems] == [
        (14, "Лицевой счёт", "лицевого счёта 4199999999 нет в реестре поставщика "
                             f"«{_provider_name(app, provider_id)}»"),
        (504, "Начислено", "сумма «12.345»: не точнее чем до копеек"),
        (1204, "Итого к оплате", f"1,00\u00a0₽ не равно «Начислено» + «Перерасчёт» + "
                                 f"«Долг/аванс» = {_rubles(rows[1200][6])}\u00a0₽"),
        (1504, "Услуга", "не заполнено"),
        (1504, "Объём", "объём не может быть отрицательным: «-1»"),
        (2003, "Срок оплаты", "срок оплаты раньше начала периода (ноябрь 2026)"),
    ]
    assert report.rows == 2000 and report.bad_rows == [14, 504, 1204, 1504, 2003]


def _provider_name(app, provider_id: int) -> str:  # type: ignore[no-untyped-def]
    from core.db.models import Provider

    with app.uow(write=False) as uow:
        return uow.session.get(Provider, provider_id).name


def _rubles(value: object) -> str:
    kopecks = round(float(value) * 100)  # type: ignore[arg-type]
    return f"{kopecks // 100:,}".replace(",", "\u00a0") + f",{kopecks % 100:02d}"


def test_a_due_date_that_differs_within_an_invoice_is_reported_once_per_row(app):
    provider_id = make_provider(app)
    add_accounts(app, provider_id, accounts(3))
    rows = charges(3)
    rows[7][10] = datetime(2026, 12, 20)
    report = invoices.import_billing_registry(app, None, provider_id, "r.xlsx",
                                              xlsx(rows, title=False))
    assert [(p.row, p.column, p.reason) for p in report.problems] == [
        (9, "Срок оплаты", "20.12.2026 отличается от срока 25.12.2026 в строке 7 того же счёта")]


def test_every_bad_row_of_the_sample_is_worded_exactly(app):
    provider_id, _ = vodokanal(app)
    load(app, provider_id, VODOKANAL_FILE)
    report = load(app, provider_id, BAD_FILE)
    assert [(p.row, p.column, p.reason) for p in report.problems] == [
        (3, "Лицевой счёт", "лицевого счёта 4799999999 нет в реестре поставщика «ГУП «Водоканал»»"),
        (4, "Объём", "объём не может быть отрицательным: «-3,000»"),
        (5, "Начислено", "не число: «263,5О»"),
        (6, "Период", "«13.2026»: ожидается месяц и год, например «11.2026», «2026-11» или "
                      "«ноябрь 2026»"),
        (7, "Период", "«03.2027»: март 2027 — больше чем на месяц вперёд; самый поздний "
                      "допустимый период сейчас — декабрь 2026"),
        (8, "Срок оплаты", "«31.02.2026»: ожидается дата ДД.ММ.ГГГГ, например «25.11.2026»"),
        (9, "Услуга", "не заполнено"),
        (10, "Итого к оплате", "263,50\xa0₽ не равно «Начислено» + «Перерасчёт» + «Долг/аванс» "
                               "= 353,50\xa0₽"),
        (11, "Период", "счёт за октябрь 2026 по этому лицевому счёту уже загружен из файла "
                       "«registry_vodokanal_2026-10.csv» 25.11.2026 12:00 (МСК)"),
        (12, "Лицевой счёт", "номер «12345» не подходит под правило поставщика: 10 цифр, "
                             "например 1234567890"),
        (13, "Срок оплаты", "срок оплаты раньше начала периода (ноябрь 2026)"),
        (14, "Услуга", "услуга «Холодное водоснабжение» уже есть в строке 2 того же счёта"),
        (15, "Срок оплаты", "не заполнено"),
        (16, "Тариф", "сумма «43,9001»: не точнее чем до копеек"),
    ]


def test_amounts_in_every_accepted_spelling_and_the_limit(app):
    provider_id = make_provider(app)
    numbers = accounts(7)
    add_accounts(app, provider_id, numbers)
    spellings = ["10000000,00", "-0,01", "+5", "1 234,56", "007", "12.3", "0"]
    kopecks = [1_000_000_000, -1, 500, 123456, 700, 1230, 0]
    text = "\n".join([HEADER] + [f"{n};11.2026;ХВС;м3;1;0;{s};0;0;{s};25.12.2026"
                                 for n, s in zip(numbers, spellings)])
    assert load_text(app, provider_id, text).saved
    table = invoice_table(app, provider_id)
    assert [table[(n, date(2026, 11, 1))][4][0][5] for n in numbers] == kopecks
    over = HEADER + f"\n{numbers[0]};12.2026;ХВС;м3;1;0;10000000,01;0;0;10000000,01;25.01.2027\n"
    report = load_text(app, provider_id, over)
    assert [(p.column, p.reason) for p in report.problems] == [
        ("Начислено", "сумма «10000000,01» больше 10\xa0000\xa0000,00\xa0₽"),
        ("Итого к оплате", "сумма «10000000,01» больше 10\xa0000\xa0000,00\xa0₽")]


def test_a_totals_row_under_a_spreadsheet_is_checked_then_skipped(app):
    provider_id = make_provider(app)
    add_accounts(app, provider_id, accounts(20))
    rows = charges(20)
    total = sum(round(row[9] * 100) for row in rows)  # type: ignore[operator]
    right = rows + [["Итого", None, None, None, None, None, None, None, None, total / 100, None]]
    wrong = rows + [["ИТОГО", None, None, None, None, None, None, None, None, 1.0, None]]
    refused = invoices.import_billing_registry(app, None, provider_id, "w.xlsx", xlsx(wrong))
    assert [(p.row, p.column) for p in refused.problems] == [(104, "Итого к оплате")]
    report = invoices.import_billing_registry(app, None, provider_id, "r.xlsx", xlsx(right))
    assert report.saved and report.skipped_totals == 1 and report.lines == 100
