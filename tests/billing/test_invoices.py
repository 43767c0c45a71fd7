"""Invoice statuses from payments, the customer's reversible mark, and the views of
customers («к оплате», «все счета») and staff (filters, paging, card tab, export)."""
from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from sqlalchemy import insert, select

from core.db.models import AuditEntry, Invoice, InvoiceMark
from core.billing.invoice_rules import InvoiceStatus
from core.actors import PermissionDenied, StaffRole
from core.billing import invoice_rules as rules, invoices
from core.errors import NotFound, ValidationError
from core.customers.errors import SessionInvalid
from core.paging import COUNT_CAP, PageRequest
from core.customers import cabinet
from core.billing.invoices import InvoiceFilter
from tests.factories.customers import make_staff, register_and_activate
from tests.factories.billing import add_accounts, bind, make_invoice, make_provider
from tests.factories.dbstate import snapshot

UNPAID, PARTIAL, PAID = InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID
SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


@pytest.fixture
def world(app):  # type: ignore[no-untyped-def]
    """A customer with a water account (Sep paid, Oct and Nov unpaid) and a power account
    (Nov partly paid); a stranger's account of the same water provider."""
    water = make_provider(app, name="ГУП «Водоканал»")
    power = make_provider(app, name="АО «Энергия»", pattern=r"\d{12}", hint="12 цифр")
    w = add_accounts(app, water, ["4700000001", "4700000002"])
    p = add_accounts(app, power, ["400000000001"])
    login = register_and_activate(app)
    bind(app, login.customer_id, w["4700000001"], name="Квартира на Ленина")
    bind(app, login.customer_id, p["400000000001"], name="Дача")
    ids = {
        "sep": make_invoice(app, w["4700000001"], SEP, 100_000, status=PAID, paid_amount=100_000),
        "oct": make_invoice(app, w["4700000001"], OCT, 120_000, due_date=date(2026, 11, 20)),
        "nov": make_invoice(app, w["4700000001"], NOV, 150_000),
        "power": make_invoice(app, p["400000000001"], NOV, 80_050, status=PARTIAL,
                              paid_amount=30_000),
        "stranger": make_invoice(app, w["4700000002"], NOV, 99_000),
    }
    return {"water": water, "power": power, "login": login, "token": login.session_token,
            "ids": ids, "accounts": {**w, **p}}


# --- statuses from payments ---------------------------------------------------

def pay(app, invoice_id, amount):  # type: ignore[no-untyped-def]
    with app.uow() as uow:
        result = invoices.apply_payment(uow.session, invoice_id, amount)
        uow.commit()
        return result


def refund(app, invoice_id, amount):  # type: ignore[no-untyped-def]
    with app.uow() as uow:
        result = invoices.revert_payment(uow.session, invoice_id, amount)
        uow.commit()
        return result


def stored(app, invoice_id):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        invoice = uow.session.get(Invoice, invoice_id)
        return invoice.status, invoice.paid_amount


@pytest.mark.parametrize("steps, status, paid", [
    ([("pay", 50_000)], PARTIAL, 50_000),
    ([("pay", 150_000)], PAID, 150_000),
    ([("pay", 50_000), ("pay", 100_000)], PAID, 150_000),
    ([("pay", 150_000), ("refund", 150_000)], UNPAID, 0),
    ([("pay", 150_000), ("refund", 40_000)], PARTIAL, 110_000),
    ([("pay", 50_000), ("refund", 50_000), ("pay", 150_000)], PAID, 150_000),
])
def test_payments_and_refunds_move_the_status(app, world, steps, status, paid):
    invoice_id = world["ids"]["nov"]
    for kind, amount in steps:
        (pay if kind == "pay" else refund)(app, invoice_id, amount)
    assert stored(app, invoice_id) == (status, paid)


@pytest.mark.parametrize("steps, error", [
    ([("pay", 150_001)], rules.Overpayment),
    ([("pay", 0)], rules.InvalidPaymentAmount),
    ([("pay", -5)], rules.InvalidPaymentAmount),
    ([("refund", 1)], rules.NothingToRevert),
    ([("pay", 150_000), ("pay", 1)], rules.InvoiceAlreadyPaid),
    ([("pay", 10_000), ("refund", 10_001)], rules.RevertExceedsPaid),
])
def test_illegal_payment_events_are_refused_and_change_nothing(app, world, steps, error):
    invoice_id = world["ids"]["nov"]
    *before_steps, (kind, amount) = steps
    for k, a in before_steps:
        (pay if k == "pay" else refund)(app, invoice_id, a)
    before = snapshot(app)
    with pytest.raises(error):
        (pay if kind == "pay" else refund)(app, invoice_id, amount)
    assert snapshot(app) == before


def test_payment_of_an_unknown_invoice_is_not_found(app):
    with pytest.raises(NotFound):
        pay(app, 12345, 100)


# --- the customer's mark ------------------------------------------------------

def test_mark_takes_the_invoice_off_to_pay_and_unmark_brings_it_back(app, world):
    token, nov = world["token"], world["ids"]["nov"]
    assert nov in [r.id for r in invoices.invoices_to_pay(app, token)]
    invoices.mark_paid(app, token, nov)
    assert nov not in [r.id for r in invoices.invoices_to_pay(app, token)]
    row = next(r for r in invoices.invoice_history(app, token) if r.id == nov)
    assert row.marked_paid and row.status is UNPAID
    assert row.status_label == "Отмечен клиентом как оплаченный"
    assert stored(app, nov) == (UNPAID, 0)  # a mark is never a payment
    invoices.unmark_paid(app, token, nov)
    assert nov in [r.id for r in invoices.invoices_to_pay(app, token)]
    row = next(r for r in invoices.invoice_history(app, token) if r.id == nov)
    assert not row.marked_paid and row.status_label == "Не оплачен"


def test_mark_and_unmark_are_kept_as_rows_and_audited(app, world):
    token, nov = world["token"], world["ids"]["nov"]
    invoices.mark_paid(app, token, nov)
    invoices.unmark_paid(app, token, nov)
    invoices.mark_paid(app, token, nov)
    with app.uow(write=False) as uow:
        marks = list(uow.session.scalars(select(InvoiceMark).order_by(InvoiceMark.id)))
        actions = list(uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("invoice.%")).order_by(AuditEntry.id)))
    assert [m.unmarked_at is None for m in marks] == [False, True]
    assert actions == ["invoice.mark_paid", "invoice.unmark_paid", "invoice.mark_paid"]


def test_a_real_payment_wins_over_the_mark(app, world):
    token, nov = world["token"], world["ids"]["nov"]
    invoices.mark_paid(app, token, nov)
    pay(app, nov, 150_000)
    row = next(r for r in invoices.invoice_history(app, token) if r.id == nov)
    assert row.status is PAID and row.marked_paid and row.status_label == "Оплачен"


def test_mark_is_the_customers_own(app, world):
    water_account = world["accounts"]["4700000001"]
    relative = register_and_activate(app)
    bind(app, relative.customer_id, water_account, name="Мамина квартира")
    invoices.mark_paid(app, world["token"], world["ids"]["nov"])
    assert world["ids"]["nov"] in [r.id for r in
                                   invoices.invoices_to_pay(app, relative.session_token)]


@pytest.mark.parametrize("action, prepare, error", [
    ("mark", None, None),
    ("mark", "mark", rules.InvoiceError),
    ("unmark", None, rules.InvoiceError),
])
def test_mark_twice_or_unmark_without_a_mark_is_refused(app, world, action, prepare, error):
    token, nov = world["token"], world["ids"]["nov"]
    if prepare:
        invoices.mark_paid(app, token, nov)
    call = invoices.mark_paid if action == "mark" else invoices.unmark_paid
    if error is None:
        call(app, token, nov)
        return
    before = snapshot(app)
    with pytest.raises(error):
        call(app, token, nov)
    assert snapshot(app)["invoice_marks"] == before["invoice_marks"]


def test_a_paid_invoice_needs_no_mark(app, world):
    with pytest.raises(rules.InvoiceError, match="уже оплачен"):
        invoices.mark_paid(app, world["token"], world["ids"]["sep"])


@pytest.mark.parametrize("call", [invoices.mark_paid, invoices.unmark_paid,
                                  invoices.invoice_detail_for_customer])
def test_invoices_of_accounts_not_bound_are_not_found(app, world, call):
    with pytest.raises(NotFound):
        call(app, world["token"], world["ids"]["stranger"])
    with pytest.raises(NotFound):
        call(app, world["token"], 999_999)


def test_unbound_account_hides_its_invoices(app, world):
    other = register_and_activate(app)
    bind(app, other.customer_id, world["accounts"]["4700000002"], removed=True)
    assert invoices.invoice_history(app, other.session_token) == []
    with pytest.raises(NotFound):
        invoices.mark_paid(app, other.session_token, world["ids"]["stranger"])


def test_customer_views_need_a_live_session(app, world):
    cabinet.logout(app, world["token"])
    for call in (invoices.invoices_to_pay, invoices.invoice_history):
        with pytest.raises(SessionInvalid):
            call(app, world["token"])
    with pytest.raises(SessionInvalid):
        invoices.mark_paid(app, "forged-token", world["ids"]["nov"])


# --- to pay vs history --------------------------------------------------------

def test_to_pay_is_the_latest_unpaid_invoice_of_each_bound_account(app, world):
    rows = invoices.invoices_to_pay(app, world["token"])
    assert [r.id for r in rows] == [world["ids"]["power"], world["ids"]["nov"]]  # by provider
    power = rows[0]
    assert (power.provider_name, power.account_number, power.account_name) == \
        ("АО «Энергия»", "400000000001", "Дача")
    assert (power.total_due, power.paid_amount, power.amount_left) == (80_050, 30_000, 50_050)
    assert power.status_label == "Оплачен частично" and power.period_label == "ноябрь 2026"


def test_history_has_every_period_newest_first(app, world):
    rows = invoices.invoice_history(app, world["token"])
    ids = world["ids"]
    assert [r.id for r in rows] == [ids["power"], ids["nov"], ids["oct"], ids["sep"]]
    labels = {r.id: r.status_label for r in rows}
    assert labels[ids["sep"]] == "Оплачен" and labels[ids["oct"]] == "Не оплачен"
    overdue = {r.id: r.overdue for r in rows}
    assert overdue == {ids["power"]: False, ids["nov"]: False, ids["oct"]: True,
                       ids["sep"]: False}


def test_paid_latest_invoice_leaves_nothing_to_pay_for_that_account(app, world):
    pay(app, world["ids"]["nov"], 150_000)
    assert [r.id for r in invoices.invoices_to_pay(app, world["token"])] == \
        [world["ids"]["power"]]


def test_customer_sees_the_charge_breakdown(app, world):
    detail = invoices.invoice_detail_for_customer(app, world["token"], world["ids"]["nov"])
    assert detail.invoice.account_name == "Квартира на Ленина"
    assert [(l.service, l.unit, l.accrued, l.total) for l in detail.lines] == \
        [("Холодное водоснабжение", "м3", 150_000, 150_000)]
    assert (detail.accrued, detail.recalculation, detail.debt) == (150_000, 0, 0)
    assert detail.address and detail.payer_masked and detail.registry_file_name is None


# --- staff views --------------------------------------------------------------

def ids_of(page):  # type: ignore[no-untyped-def]
    return [r.id for r in page.items]


@pytest.mark.parametrize("flt, expected", [
    (InvoiceFilter(), ["stranger", "power", "nov", "oct", "sep"]),
    (InvoiceFilter(status=UNPAID), ["stranger", "nov", "oct"]),
    (InvoiceFilter(status=PARTIAL), ["power"]),
    (InvoiceFilter(period_from=date(2026, 10, 15)), ["stranger", "power", "nov", "oct"]),
    (InvoiceFilter(period_to=date(2026, 10, 31)), ["oct", "sep"]),
    (InvoiceFilter(period_from=OCT, period_to=OCT), ["oct"]),
    (InvoiceFilter(account_number="47-0000-0001"), ["nov", "oct", "sep"]),
    (InvoiceFilter(account_number=" 4700000002 "), ["stranger"]),
    (InvoiceFilter(account_number="1111111111"), []),
    (InvoiceFilter(overdue_only=True), ["oct"]),
])
def test_staff_list_filters(app, world, flt, expected):
    agent = make_staff(app, StaffRole.AGENT)
    page = invoices.list_invoices(app, agent, flt, PageRequest(1, 25))
    assert ids_of(page) == [world["ids"][k] for k in expected]
    assert page.total == len(expected) and not page.total_capped


def test_staff_list_filters_by_provider(app, world):
    finance = make_staff(app, StaffRole.FINANCE)
    page = invoices.list_invoices(app, finance, InvoiceFilter(provider_id=world["power"]),
                                  PageRequest(1, 25))
    assert ids_of(page) == [world["ids"]["power"]]
    assert page.items[0].account_name is None


def test_staff_see_the_customers_mark(app, world):
    invoices.mark_paid(app, world["token"], world["ids"]["nov"])
    admin = make_staff(app, StaffRole.ADMIN)
    row = invoices.invoice_detail(app, admin, world["ids"]["nov"]).invoice
    assert row.marked_paid and row.status_label == "Отмечен клиентом как оплаченный"


def test_period_from_after_period_to_is_refused(app, world):
    agent = make_staff(app, StaffRole.AGENT)
    with pytest.raises(ValidationError, match="Период"):
        invoices.list_invoices(app, agent, InvoiceFilter(period_from=NOV, period_to=OCT),
                               PageRequest())


def test_paging_and_the_capped_count(app):
    provider = make_provider(app)
    account = add_accounts(app, provider, ["4711111111"])["4711111111"]
    with app.uow() as uow:
        uow.session.execute(insert(Invoice.__table__), [
            dict(provider_account_id=account, period=date(1900 + n // 12, n % 12 + 1, 1),
                 total_due=100 + n, due_date=date(1900 + n // 12, n % 12 + 1, 25),
                 status=UNPAID, paid_amount=0, created_at=app.now())
            for n in range(COUNT_CAP + 5)])
        uow.commit()
    agent = make_staff(app, StaffRole.AGENT)
    first = invoices.list_invoices(app, agent, InvoiceFilter(), PageRequest(1, 10))
    second = invoices.list_invoices(app, agent, InvoiceFilter(), PageRequest(2, 10))
    assert first.total == COUNT_CAP and first.total_capped and first.total_text == "более 1000"
    assert len(first.items) == 10 and len(second.items) == 10
    periods = [r.period for r in first.items + second.items]
    assert periods == sorted(periods, reverse=True) and len(set(periods)) == 20
    small = invoices.list_invoices(app, agent, InvoiceFilter(period_from=date(1983, 1, 1)),
                                   PageRequest(1, 10))
    assert small.total == COUNT_CAP + 5 - 83 * 12 and not small.total_capped


def test_staff_invoice_detail(app, world):
    agent = make_staff(app, StaffRole.AGENT)
    detail = invoices.invoice_detail(app, agent, world["ids"]["power"])
    assert detail.invoice.provider_name == "АО «Энергия»" and len(detail.lines) == 1
    with pytest.raises(NotFound):
        invoices.invoice_detail(app, agent, 999_999)


def test_customer_card_tab_lists_invoices_of_bound_accounts(app, world):
    agent = make_staff(app, StaffRole.AGENT)
    page = invoices.customer_invoices(app, agent, world["login"].customer_id, PageRequest(1, 10))
    ids = world["ids"]
    assert ids_of(page) == [ids["power"], ids["nov"], ids["oct"], ids["sep"]]
    assert page.total == 4
    with pytest.raises(NotFound):
        invoices.customer_invoices(app, agent, 999_999, PageRequest())


def test_export_has_numeric_money_and_is_audited(app, world):
    finance = make_staff(app, StaffRole.FINANCE)
    data = invoices.export_invoices(app, finance, InvoiceFilter(status=PARTIAL))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Поставщик", "Лицевой счёт", "Период", "К оплате", "Оплачено", "Статус",
                       "Срок оплаты", "Просрочен")
    assert len(rows) == 2
    provider, number, period, due, paid, status, due_date, overdue = rows[1]
    assert (provider, number, period, status, overdue) == \
        ("АО «Энергия»", "400000000001", "11.2026", "Оплачен частично", "нет")
    assert isinstance(due, float) and due == 800.5 and paid == 300  # numbers, not text
    assert due_date.date() == date(2026, 12, 25)
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "invoice.export"))
    assert entry.staff_id == finance.staff_id
    assert entry.after == {"filter": {"status": "partially_paid"}, "rows": 1, "format": "xlsx"}


@pytest.mark.parametrize("call", [
    lambda app, actor, w: invoices.list_invoices(app, actor, InvoiceFilter(), PageRequest()),
    lambda app, actor, w: invoices.invoice_detail(app, actor, w["ids"]["nov"]),
    lambda app, actor, w: invoices.customer_invoices(app, actor, w["login"].customer_id,
                                                     PageRequest()),
    lambda app, actor, w: invoices.export_invoices(app, actor, InvoiceFilter()),
])
def test_manager_sees_no_invoices(app, world, call):
    manager = make_staff(app, StaffRole.MANAGER)
    before = snapshot(app)
    with pytest.raises(PermissionDenied):
        call(app, manager, world)
    assert snapshot(app) == before


def test_overdue_follows_the_moscow_date(app, world, clock):
    agent = make_staff(app, StaffRole.AGENT)

    def rows():  # type: ignore[no-untyped-def]
        page = invoices.customer_invoices(app, agent, world["login"].customer_id, PageRequest())
        return {r.id: r for r in page.items}

    clock.advance(days=30)  # 25.12.2026 12:00 MSK: November's due date is today, not past
    assert not rows()[world["ids"]["nov"]].overdue
    clock.advance(hours=12)  # 26.12.2026 00:00 MSK
    assert rows()[world["ids"]["nov"]].overdue
    assert not rows()[world["ids"]["sep"]].overdue  # paid is never overdue
