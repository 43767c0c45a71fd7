"""«Выгрузить в Excel» on the customer search and the journal: all matches, audited."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from core.db.models import AuditEntry
from core.actors import PermissionDenied, StaffRole
from core.errors import ValidationError
from core.staff import audit
from core.customers import contact_center, cabinet
from core.customers.rules import PersonalData
from tests.factories.customers import make_staff, register_and_activate


def _sheet(data: bytes):  # type: ignore[no-untyped-def]
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_search_export_holds_every_match_and_is_audited(app):
    for n in range(30):
        register_and_activate(app, phone=f"+7 999 000-11-{n:02d}")
    agent = make_staff(app, StaffRole.AGENT)
    sheet = _sheet(contact_center.export_customer_search(app, agent, "999 000-11"))
    assert sheet.max_row == 31  # header + all 30, not one page of 25
    assert [c.value for c in sheet[1]][:4] == ["ФИО", "Телефон", "E-mail", "Статус"]
    assert {sheet.cell(row=r, column=4).value for r in range(2, 32)} == {"Активен"}
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.export"))
    assert entry.staff_id == agent.staff_id and entry.after["rows"] == 30


def test_a_customer_named_like_a_formula_is_exported_as_text(app):
    login = register_and_activate(app, phone="+79990001122")
    cabinet.update_profile(app, login.session_token, PersonalData(surname="Иванов"))
    agent = make_staff(app, StaffRole.AGENT)
    sheet = _sheet(contact_center.export_customer_search(app, agent, "Иванов"))
    assert sheet.cell(row=2, column=1).value == "Иванов"
    assert sheet.cell(row=2, column=1).data_type == "s"


def test_search_export_refuses_bad_input_and_managers(app):
    agent = make_staff(app, StaffRole.AGENT)
    with pytest.raises(ValidationError, match="^Поиск:"):
        contact_center.export_customer_search(app, agent, "x" * 10_000)
    with pytest.raises(PermissionDenied):
        contact_center.export_customer_search(app, make_staff(app, StaffRole.MANAGER), "999")


def test_journal_export_follows_the_role_and_is_journaled(app):
    admin = make_staff(app, StaffRole.ADMIN)
    agent = make_staff(app, StaffRole.AGENT)
    login = register_and_activate(app)
    contact_center.open_customer_card(app, agent, login.customer_id)
    contact_center.open_customer_card(app, admin, login.customer_id)
    everything = _sheet(audit.export_entries(app, admin, audit.AuditFilter(
        action="customer.card_view")))
    assert everything.max_row == 3
    own = _sheet(audit.export_entries(app, agent, audit.AuditFilter(action="customer.card_view")))
    assert own.max_row == 2 and own.cell(row=2, column=2).value == f"Сотрудник {agent.login}"
    page = audit.list_entries(app, admin, audit.AuditFilter(action="audit.export"),
                              audit.PageRequest(1, 25))
    assert page.total == 2


def test_every_journaled_action_has_a_russian_label():
    """«Журнал действий» shows ACTION_LABELS; an action written anywhere in the code
    without a label would show up as its raw key."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"""action=["']([a-z_]+\.[a-z_]+)["']""")
    used: set[str] = set()
    for folder in ("core", "dashboard"):
        for path in (root / folder).rglob("*.py"):
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                used.add(match.group(1))
    used.add("staff.deactivate")  # staff.py: action="staff.activate" if ... else this
    assert {"card.remove", "payment.export", "payment.ask_gateway", "payment.refund"} <= used
    assert sorted(used - set(audit.ACTION_LABELS)) == []


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://x","y")', "+1", "-1", "@x", "\t=1"])
def test_a_name_a_spreadsheet_would_run_is_exported_as_text(app, hostile):
    """The form refuses such names, but data loaded by other means may hold them: the
    export must still write text, never a formula."""
    from sqlalchemy import update

    from core.db.models import Customer

    login = register_and_activate(app, phone="+79990001133")
    with app.uow() as uow:
        uow.session.execute(update(Customer).where(Customer.id == login.customer_id)
                            .values(surname=hostile))
        uow.commit()
    agent = make_staff(app, StaffRole.AGENT)
    cell = _sheet(contact_center.export_customer_search(app, agent, "+79990001133")).cell(
        row=2, column=1)
    assert cell.value.strip() == hostile.strip() and cell.data_type == "s"


def test_a_managers_exports_carry_no_personal_data(app):
    """Managers export analytics only; it holds figures, never a phone, e-mail or name;
    every personal-data export refuses them."""
    from datetime import timedelta

    from core.analytics import metrics
    from core.payments import read_models
    from core.billing import invoices
    from core.billing.invoices import InvoiceFilter
    from core.payments.read_models import PaymentFilter
    from core.timefmt import moscow_date
    from tests.factories.payment_flow import pay_invoice, payer

    p = payer(app)
    cabinet.update_profile(app, p.token, PersonalData(surname="Петров", first_name="Иван"))
    pay_invoice(app, p)
    manager = make_staff(app, StaffRole.MANAGER)
    today = moscow_date(app.now())
    data = metrics.export_report(app, manager, metrics.AnalyticsFilter(
        today - timedelta(days=30), today))
    book = openpyxl.load_workbook(io.BytesIO(data))
    text = " ".join(str(cell.value) for sheet in book for row in sheet.iter_rows()
                    for cell in row if cell.value is not None)
    with app.uow(write=False) as uow:
        from core.db.models import Customer

        customer = uow.session.get(Customer, p.customer_id)
    for personal in (customer.phone, customer.phone[-10:], customer.email, "Петров"):
        assert personal not in text
    for export in (lambda: contact_center.export_customer_search(app, manager, "Петров"),
                   lambda: read_models.export_payments(app, manager, PaymentFilter()),
                   lambda: invoices.export_invoices(app, manager, InvoiceFilter()),
                   lambda: audit.export_entries(app, manager, audit.AuditFilter())):
        with pytest.raises(PermissionDenied):
            export()
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "analytics.export"))
    assert entry is not None and entry.staff_id == manager.staff_id
