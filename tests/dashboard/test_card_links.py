"""Issue 14, point 1: every card has its own address, a row click opens it (AppTest
cannot click a table's row: ``open_row`` does what the row's callback does, the
browser test clicks for real), and a link opens the card with nothing typed."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from core.actors import StaffRole
from core.db.models import AuditEntry
from tests.dashboard.helpers import open_row, search, shown, table_with, texts
from tests.factories.billing import make_provider
from tests.factories.customers import register_and_activate
from tests.factories.payments import make_payment

UTC = timezone.utc


def _card_views(app, customer_id: int) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "customer.card_view",
            AuditEntry.customer_id == customer_id)) or 0


def test_a_row_click_puts_the_customer_in_the_address_and_opens_the_card(dash_app, logged_in):
    register_and_activate(dash_app, phone="+79991112201")
    wanted = register_and_activate(dash_app, phone="+79991112202")
    at, _ = logged_in(StaffRole.AGENT)
    search(at, "+7 999 111-22-0")
    assert len(at.dataframe[0].value) == 2
    assert "Щёлкните строку, чтобы открыть карточку" in texts(at)
    ids = at.session_state["cust_row_ids"]
    open_row(at, "cust", "customer", ids.index(wanted.customer_id))
    assert at.query_params["customer"] == str(wanted.customer_id)
    assert "+7 999 111-22-02" in texts(at)
    assert _card_views(dash_app, wanted.customer_id) == 1

    [close] = [b for b in at.button if b.label == "Закрыть карточку"]
    close.click().run()
    assert "customer" not in at.query_params
    assert "+7 999 111-22-02" not in texts(at)
    assert len(at.dataframe[0].value) == 2  # the search stays


def test_a_link_opens_the_customer_card_without_a_search(dash_app, logged_in):
    wanted = register_and_activate(dash_app, phone="+79991112203")
    at, _ = logged_in(StaffRole.AGENT)
    at.query_params["customer"] = str(wanted.customer_id)
    at.run()
    assert not at.exception, at.exception
    assert "+7 999 111-22-03" in texts(at)
    assert not at.dataframe or "ФИО" not in at.dataframe[0].value.columns  # no search made


def test_a_mistyped_or_unknown_link_says_so_and_opens_nothing(dash_app, logged_in):
    at, _ = logged_in(StaffRole.AGENT)
    at.query_params["customer"] = "12ab"
    at.run()
    assert "Ссылка: «12ab» не номер клиента" in [shown(e.value) for e in at.error]
    at.query_params["customer"] = "987654"
    at.run()
    assert not at.exception, at.exception
    assert any("не найден" in shown(e.value) for e in at.error), [e.value for e in at.error]
    assert not [b for b in at.button if b.key == "act_block"]


def test_a_payment_link_opens_its_card_and_a_row_click_another(dash_app, logged_in):
    water = make_provider(dash_app, name="ГУП «Водоканал»")
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    first = make_payment(dash_app, provider_id=water, amount=150_000, created_at=when)
    second = make_payment(dash_app, provider_id=water, amount=250_000, created_at=when,
                          account_number="1234567890")
    at, _ = logged_in(StaffRole.AGENT)
    at.switch_page("views/payments.py")
    at.query_params["payment"] = str(first)
    at.run()
    assert not at.exception, at.exception
    assert f"Платёж № {first}: 1\u00a0500,00\u00a0₽" in texts(at)
    assert len(table_with(at, "Событие"))  # its timeline
    ids = at.session_state["pay_row_ids"]
    open_row(at, "pay", "payment", ids.index(second))
    assert at.query_params["payment"] == str(second)
    assert f"Платёж № {second}: 2\u00a0500,00\u00a0₽" in texts(at)
    assert f"Платёж № {first}:" not in texts(at)


def test_an_invoice_and_a_reconciliation_run_have_addresses_too(dash_app, logged_in):
    at, _ = logged_in(StaffRole.AGENT)
    at.switch_page("views/invoices.py")
    at.query_params["invoice"] = "x"
    at.run()
    assert "Ссылка: «x» не номер счёта" in [shown(e.value) for e in at.error]
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page("views/reconciliation.py")
    at.query_params.clear()
    at.query_params["run"] = "-3"
    at.run()
    assert "Ссылка: «-3» не номер сверки" in [shown(e.value) for e in at.error]
