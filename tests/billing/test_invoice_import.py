"""Billing-registry import: the samples load, re-import adds nothing, a bad file changes
nothing and reports every row, and the cp1251 twin loads the same invoices."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db.models import (AuditEntry, Invoice, InvoiceLine, OutboxMessage, ProviderAccount,
                            RegistryFile)
from core.billing.invoice_rules import InvoiceStatus
from core.actors import PermissionDenied, StaffRole
from core.errors import NotFound, ValidationError
from core.files.readers import FileUnreadable
from core.billing import invoices
from tests.factories.customers import make_staff, register_and_activate
from tests.factories.billing import (BAD_FILE, ENERGO_FILE, VODOKANAL_CP1251_FILE, VODOKANAL_FILE,
                                     add_accounts, bind, energo, make_provider,
                                     sample_account_numbers, vodokanal)
from tests.factories.dbstate import snapshot

HEADER = ("Лицевой счет;Период;Услуга;Ед. изм.;Объем;Тариф;Начислено;Перерасчет;Долг/аванс;"
          "Итого к оплате;Срок оплаты")


def load(app, provider_id, path, actor=None, progress=None):  # type: ignore[no-untyped-def]
    return invoices.import_billing_registry(app, actor, provider_id, path.name,
                                            path.read_bytes(), progress)


def load_text(app, provider_id, text, name="registry.csv", actor=None):  # type: ignore[no-untyped-def]
    return invoices.import_billing_registry(app, actor, provider_id, name,
                                            text.encode("utf-8"))


def invoice_table(app, provider_id):  # type: ignore[no-untyped-def]
    """Every invoice of a provider with its lines, keyed by account number and period."""
    with app.uow(write=False) as uow:
        s = uow.session
        out = {}
        for inv, number in s.execute(
                select(Invoice, ProviderAccount.number)
                .join(ProviderAccount, ProviderAccount.id == Invoice.provider_account_id)
                .where(ProviderAccount.provider_id == provider_id)):
            lines = [(l.line_no, l.service, l.unit, l.volume, l.tariff, l.accrued,
                      l.recalculation, l.debt, l.total)
                     for l in s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id)
                                        .order_by(InvoiceLine.line_no))]
            out[(number, inv.period)] = (inv.total_due, inv.due_date, inv.status, inv.paid_amount,
                                         lines)
        return out


@pytest.mark.parametrize("sample, setup, invoices_count, lines, total", [
    (VODOKANAL_FILE, vodokanal, 12, 36, 4_042_045),
    (VODOKANAL_CP1251_FILE, vodokanal, 12, 36, 4_042_045),
    (ENERGO_FILE, energo, 8, 16, 1_630_195),
])
def test_each_sample_imports(app, sample, setup, invoices_count, lines, total):
    provider_id, _ = setup(app)
    report = load(app, provider_id, sample)
    assert report.accepted and report.saved and not report.problems, report.problems
    assert (report.invoices, report.lines, report.rows, report.total_due) == \
        (invoices_count, lines, lines, total)
    table = invoice_table(app, provider_id)
    assert len(table) == invoices_count
    assert sum(total_due for total_due, *_ in table.values()) == total
    for total_due, _due, status, paid, invoice_lines in table.values():
        assert total_due == sum(line[-1] for line in invoice_lines)
        assert status is InvoiceStatus.UNPAID and paid == 0
    assert "загружен" in report.summary and str(invoices_count) in report.summary


def test_sample_values_are_kept_exactly(app):
    provider_id, _ = vodokanal(app)
    load(app, provider_id, VODOKANAL_FILE)
    account = sample_account_numbers()[3]
    total_due, due, _status, _paid, lines = invoice_table(app, provider_id)[(account,
                                                                            date(2026, 10, 1))]
    assert due == date(2026, 11, 25)
    assert lines[0] == (1, "Холодное водоснабжение", "м3", Decimal("10.450"), 5270, 55072, 0,
                        250000, 305072)
    assert lines[1][7] == 312040  # debt 3 120,40
    assert total_due == sum(line[8] for line in lines)


def test_dashed_account_numbers_are_matched_to_the_register(app):
    provider_id, _ = vodokanal(app)
    load(app, provider_id, VODOKANAL_FILE)
    # The register file prints «47-1316-0265»; the registry too: both normalise.
    assert ("4713160265", date(2026, 10, 1)) in invoice_table(app, provider_id)


def test_cp1251_twin_yields_exactly_the_same_invoices_and_lines(app):
    utf8_provider, _ = vodokanal(app)
    cp1251_provider = make_provider(app, name="ГУП «Водоканал» (копия)")
    add_accounts(app, cp1251_provider, sample_account_numbers())
    load(app, utf8_provider, VODOKANAL_FILE)
    report = load(app, cp1251_provider, VODOKANAL_CP1251_FILE)
    assert report.saved
    assert invoice_table(app, cp1251_provider) == invoice_table(app, utf8_provider)


def test_totals_row_is_recognised_and_skipped(app):
    provider_id, _ = vodokanal(app)
    report = load(app, provider_id, VODOKANAL_CP1251_FILE)
    assert report.skipped_totals == 1 and report.rows == 36 and not report.problems


def test_totals_row_that_disagrees_with_the_rows_is_reported(app):
    provider_id, _ = vodokanal(app)
    text = VODOKANAL_CP1251_FILE.read_bytes().decode("cp1251")
    broken = text.replace(";40 420,45;", ";40 420,46;")
    assert broken != text
    before = snapshot(app)
    report = invoices.import_billing_registry(app, None, provider_id, "x.csv",
                                              broken.encode("cp1251"))
    assert [(p.row, p.column) for p in report.problems] == [(39, "Итого к оплате")]
    assert "40\u00a0420,46" in report.problems[0].reason
    assert snapshot(app) == before


def test_reimport_of_the_same_file_adds_nothing_and_says_when(app, clock):
    provider_id, _ = vodokanal(app)
    first = load(app, provider_id, VODOKANAL_FILE)
    loaded_at = clock.now()
    clock.advance(hours=3)
    before = snapshot(app)
    again = load(app, provider_id, VODOKANAL_FILE)
    assert snapshot(app) == before
    assert again.already_loaded and again.accepted and not again.saved
    assert again.already_loaded_at == loaded_at and again.invoices == 0
    assert again.sha256 == first.sha256
    assert "уже загружен 25.11.2026 12:00 (МСК)" in again.summary


def test_the_same_file_for_another_provider_is_not_a_repeat(app):
    provider_id, _ = vodokanal(app)
    other = make_provider(app)
    add_accounts(app, other, sample_account_numbers())
    load(app, provider_id, VODOKANAL_FILE)
    assert load(app, other, VODOKANAL_FILE).invoices == 12


# (row, column) of every bad row of registry_bad.csv; row 2 is the one good row.
BAD_ROWS = [
    (3, "Лицевой счёт"),  # not in the provider's register
    (4, "Объём"),  # negative volume
    (5, "Начислено"),  # «263,5О» with a Cyrillic О
    (6, "Период"),  # «13.2026»
    (7, "Период"),  # March 2027: more than a month ahead
    (8, "Срок оплаты"),  # 31.02.2026
    (9, "Услуга"),  # empty
    (10, "Итого к оплате"),  # not accrued + recalculation + debt
    (11, "Период"),  # October's invoice came with the earlier file
    (12, "Лицевой счёт"),  # «12345» breaks the provider's rule
    (13, "Срок оплаты"),  # before the period starts
    (14, "Услуга"),  # the same service twice in one invoice
    (15, "Срок оплаты"),  # empty
    (16, "Тариф"),  # a fraction of a kopeck
]


def test_bad_file_changes_nothing_and_reports_every_bad_row(app):
    provider_id, _ = vodokanal(app)
    load(app, provider_id, VODOKANAL_FILE)
    before = snapshot(app)
    report = load(app, provider_id, BAD_FILE)
    assert snapshot(app) == before
    assert not report.accepted and not report.saved and report.invoices == 0
    assert [(p.row, p.column) for p in report.problems] == BAD_ROWS
    assert report.bad_rows == [row for row, _ in BAD_ROWS]
    reasons = {p.row: p.reason for p in report.problems}
    assert "4799999999 нет в реестре поставщика «ГУП «Водоканал»»" in reasons[3]
    assert "отрицательным" in reasons[4]
    assert "не число: «263,5О»" in reasons[5]
    assert "«13.2026»" in reasons[6]
    assert "больше чем на месяц вперёд" in reasons[7]
    assert "«31.02.2026»" in reasons[8]
    assert reasons[9] == "не заполнено"
    assert "353,50" in reasons[10]
    assert "уже загружен из файла «registry_vodokanal_2026-10.csv»" in reasons[11]
    assert "10 цифр" in reasons[12]
    assert "раньше начала периода" in reasons[13]
    assert "строке 2" in reasons[14]
    assert "до копеек" in reasons[16]
    assert "не загружен" in report.summary and "14" in report.summary


def test_missing_column_is_reported_once_for_the_header(app):
    provider_id, _ = vodokanal(app)
    header = HEADER.rsplit(";", 1)[0]  # no «Срок оплаты»
    account = sample_account_numbers()[0]
    rows = "\n".join(f"{account};11.2026;Услуга {n};м3;1;1;1;0;0;1" for n in range(5))
    before = snapshot(app)
    report = load_text(app, provider_id, f"{header}\n{rows}\n")
    assert [(p.row, p.column, p.reason) for p in report.problems] == \
        [(None, "Срок оплаты", "в файле нет такого столбца")]
    assert report.problems[0].text == "Заголовок файла, «Срок оплаты»: в файле нет такого столбца"
    assert snapshot(app) == before


def test_file_without_a_header_row_says_so(app):
    provider_id, _ = vodokanal(app)
    report = load_text(app, provider_id, "a;b;c\n1;2;3\n")
    assert len(report.problems) == 1 and "строка заголовка" in report.problems[0].reason


def test_recalculation_and_debt_columns_may_be_absent(app):
    provider_id, _ = vodokanal(app)
    account = sample_account_numbers()[0]
    text = ("account,period,service,unit,volume,tariff,accrued,total,due date\n"
            f"{account},ноябрь 2026,Водоотведение,м3,2,43.90,87.80,87.80,25.12.2026\n")
    report = load_text(app, provider_id, text)
    assert report.saved, report.problems
    (_, _, _, _, lines), = invoice_table(app, provider_id).values()
    assert lines == [(1, "Водоотведение", "м3", Decimal("2.000"), 4390, 8780, 0, 0, 8780)]


def test_lines_of_one_invoice_keep_file_order_even_when_apart(app):
    provider_id, _ = vodokanal(app)
    a, b = sample_account_numbers()[:2]
    text = "\n".join([HEADER,
                      f"{a};11.2026;ХВС;м3;1;10;10;0;0;10;25.12.2026",
                      f"{b};11.2026;ХВС;м3;1;10;10;0;0;10;25.12.2026",
                      f"{a};11.2026;ГВС;м3;1;20;20;0;5;25;25.12.2026"])
    report = load_text(app, provider_id, text)
    assert report.invoices == 2 and report.lines == 3
    table = invoice_table(app, provider_id)
    total_due, _, _, _, lines = table[(a, date(2026, 11, 1))]
    assert [line[:2] for line in lines] == [(1, "ХВС"), (2, "ГВС")] and total_due == 3500


def test_prepayment_that_covers_the_invoice_makes_it_paid_from_the_start(app):
    provider_id, _ = vodokanal(app)
    account = sample_account_numbers()[0]
    text = f"{HEADER}\n{account};11.2026;ХВС;м3;1;100;100;0;-250;-150;25.12.2026\n"
    assert load_text(app, provider_id, text).saved
    (total_due, _, status, paid, _), = invoice_table(app, provider_id).values()
    assert (total_due, status, paid) == (-15000, InvoiceStatus.PAID, 0)


def test_different_due_dates_within_one_invoice_are_refused(app):
    provider_id, _ = vodokanal(app)
    account = sample_account_numbers()[0]
    text = "\n".join([HEADER, f"{account};11.2026;ХВС;м3;1;10;10;0;0;10;25.12.2026",
                      f"{account};11.2026;ГВС;м3;1;10;10;0;0;10;20.12.2026"])
    report = load_text(app, provider_id, text)
    assert [(p.row, p.column) for p in report.problems] == [(3, "Срок оплаты")]


@pytest.mark.parametrize("cell, column", [
    ("1e5", "Начислено"), ("12,345", "Начислено"), ("1 00,00", "Начислено"),
    ("99999999,99", "Начислено"),
])
def test_amounts_that_are_not_kopecks_are_refused(app, cell, column):
    provider_id, _ = vodokanal(app)
    account = sample_account_numbers()[0]
    text = f"{HEADER}\n{account};11.2026;ХВС;м3;1;10;{cell};0;0;10;25.12.2026\n"
    report = load_text(app, provider_id, text)
    assert (2, column) in [(p.row, p.column) for p in report.problems]


def test_negative_tariff_is_refused_but_negative_recalculation_is_not(app):
    provider_id, _ = vodokanal(app)
    account = sample_account_numbers()[0]
    text = "\n".join([HEADER, f"{account};11.2026;ХВС;м3;1;-10;10;0;0;10;25.12.2026",
                      f"{account};11.2026;ГВС;м3;1;10;10;-15;0;-5;25.12.2026"])
    report = load_text(app, provider_id, text)
    assert [(p.row, p.column) for p in report.problems] == [(2, "Тариф")]
    assert "отрицательным" in report.problems[0].reason


def test_progress_counts_rows_half_when_checked_half_when_saved(app):
    provider_id, _ = vodokanal(app)
    calls: list[tuple[int, int]] = []
    load(app, provider_id, VODOKANAL_FILE, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 36), (18, 36), (36, 36)]
    refused: list[tuple[int, int]] = []
    load(app, provider_id, BAD_FILE, progress=lambda done, total: refused.append((done, total)))
    assert refused[-1] == (7, 15)  # checked, never saved


def test_import_is_recorded_and_audited(app):
    finance = make_staff(app, StaffRole.FINANCE)
    provider_id, _ = vodokanal(app)
    report = load(app, provider_id, VODOKANAL_FILE, actor=finance)
    with app.uow(write=False) as uow:
        registry = uow.session.scalar(select(RegistryFile))
        entry = uow.session.scalar(select(AuditEntry)
                                   .where(AuditEntry.action == "invoice.registry_import"))
        ids = set(uow.session.scalars(select(Invoice.registry_file_id)))
    assert (registry.kind, registry.rows, registry.created, registry.staff_id) == \
        ("invoices", 36, 12, finance.staff_id)
    assert registry.sha256 == report.sha256 and report.registry_file_id == registry.id
    assert ids == {registry.id}
    assert entry.staff_id == finance.staff_id
    assert entry.after == {"provider_id": provider_id, "file_name": VODOKANAL_FILE.name,
                           "sha256": report.sha256, "rows": 36, "invoices": 12,
                           "total_due": 4_042_045}


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.MANAGER])
def test_only_finance_and_admin_import(app, role):
    provider_id, _ = vodokanal(app)
    member = make_staff(app, role)
    before = snapshot(app)
    with pytest.raises(PermissionDenied):
        load(app, provider_id, VODOKANAL_FILE, actor=member)
    assert snapshot(app) == before


def test_admin_may_import(app):
    provider_id, _ = vodokanal(app)
    assert load(app, provider_id, VODOKANAL_FILE, actor=make_staff(app, StaffRole.ADMIN)).saved


def test_unknown_provider_and_provider_without_invoicing_are_refused(app):
    with pytest.raises(NotFound):
        load(app, 999, VODOKANAL_FILE)
    silent = make_provider(app, invoicing=False)
    with pytest.raises(ValidationError, match="не выставляет счета"):
        load(app, silent, VODOKANAL_FILE)


def test_a_file_that_is_not_a_table_is_refused_clearly(app):
    provider_id, _ = vodokanal(app)
    with pytest.raises(FileUnreadable):
        invoices.import_billing_registry(app, None, provider_id, "x.xlsx", b"PK\x03\x04broken")
    with pytest.raises(FileUnreadable):
        invoices.import_billing_registry(app, None, provider_id, "x.csv", b"")


def test_new_invoices_are_announced_to_active_bound_cabinets_only(app):
    provider_id, accounts = vodokanal(app)
    first, second = sample_account_numbers()[:2]
    active = register_and_activate(app)
    bind(app, active.customer_id, accounts[first])
    gone = register_and_activate(app)
    bind(app, gone.customer_id, accounts[second], removed=True)
    with app.uow(write=False) as uow:
        before = {m.id for m in uow.session.scalars(select(OutboxMessage))}
    load(app, provider_id, VODOKANAL_FILE)
    with app.uow(write=False) as uow:
        new = [m for m in uow.session.scalars(select(OutboxMessage)) if m.id not in before]
    assert new and {m.customer_id for m in new} == {active.customer_id}
    assert all(m.topic == "new_invoice" for m in new)
