"""«Клиенты» in AppTest: a phone by a run of its digits, the «Статус» filter and the tab
«Заблокированные кабинеты» whose row opens the card."""
from __future__ import annotations

from core.actors import StaffRole
from core.customers import cabinet, contact_center
from core.customers.rules import CabinetStatus
from tests.dashboard.helpers import button, open_row, record_calls, search, table_with, texts
from tests.factories.customers import make_staff, register, register_and_activate
from tests.factories.dbstate import snapshot


def _three_states(app):  # type: ignore[no-untyped-def]
    active = register_and_activate(app, phone="+7 916 852-96-93", email="active@example.ru")
    register(app, phone="+7 916 852-96-94", email="pending@example.ru")
    blocked = register_and_activate(app, phone="+7 916 852-96-95", email="blocked@example.ru")
    staff = make_staff(app, StaffRole.AGENT)
    contact_center.block(app, staff, blocked.customer_id, "Клиент сообщил о краже телефона")
    return active.customer_id, blocked.customer_id, staff


def _search(at, query, status):  # type: ignore[no-untyped-def]
    at.text_input(key="cust_query_input").input(query)
    at.selectbox(key="cust_status_input").select(status)
    return button(at, "Найти").click().run()


def test_the_last_seven_digits_typed_with_dashes_find_the_customer(dash_app, logged_in):
    _three_states(dash_app)
    at, _ = logged_in(StaffRole.AGENT)
    search(at, "852-96-93")
    assert not at.exception
    assert table_with(at, "E-mail")["E-mail"].tolist() == ["active@example.ru"]


def test_status_filter_narrows_the_search(dash_app, logged_in):
    _three_states(dash_app)
    at, _ = logged_in(StaffRole.AGENT)
    search(at, "+7 (916) 852")
    assert sorted(table_with(at, "E-mail")["Статус"]) == sorted(
        ["Активен", "Ожидает активации", "Заблокирован"])
    _search(at, "+7 (916) 852", CabinetStatus.BLOCKED)
    found = table_with(at, "E-mail")
    assert (found["E-mail"].tolist(), found["Статус"].tolist()) == (
        ["blocked@example.ru"], ["Заблокирован"])
    _search(at, "+7 (916) 852", CabinetStatus.PENDING_ACTIVATION)
    assert table_with(at, "E-mail")["E-mail"].tolist() == ["pending@example.ru"]
    _search(at, "blocked@example.ru", CabinetStatus.ACTIVE)
    assert "Клиенты не найдены" in texts(at)
    _search(at, "+7 (916) 852", "Все")
    assert len(table_with(at, "E-mail")) == 3


def test_a_bad_query_says_so_and_changes_nothing(dash_app, logged_in):
    _three_states(dash_app)
    at, _ = logged_in(StaffRole.AGENT)
    before = snapshot(dash_app)
    _search(at, "9", CabinetStatus.BLOCKED)
    assert "Поиск: введите хотя бы 2 символа" in texts(at)
    assert snapshot(dash_app) == before


def test_blocked_cabinets_tab_lists_who_when_why_and_opens_the_card(dash_app, logged_in):
    selfish = register_and_activate(dash_app, phone="+7 903 100-00-01", email="self@example.ru")
    cabinet.block_own_cabinet(dash_app, selfish.session_token, "Потерял телефон")
    _, by_agent, staff = _three_states(dash_app)
    at, _ = logged_in(StaffRole.AGENT)
    assert [t.label for t in at.tabs] == ["Поиск", "Заблокированные кабинеты"]
    blocked = table_with(at, "Кто заблокировал")
    assert blocked["Телефон"].tolist() == ["+7 916 852-96-95", "+7 903 100-00-01"]  # newest
    assert blocked["Кто заблокировал"].tolist() == [f"Сотрудник {staff.login}", "клиент"]
    assert blocked["Причина"].tolist() == ["Клиент сообщил о краже телефона", "Потерял телефон"]
    assert "Всего: 2" in texts(at)

    open_row(at, "blk", "customer", index=1)
    assert not at.exception
    assert at.query_params["customer"] == str(selfish.customer_id)
    assert "Потерял телефон" in texts(at) and "self@example.ru" in texts(at)


def test_no_blocked_cabinets_is_said(dash_app, logged_in):
    at, _ = logged_in(StaffRole.AGENT)
    assert "Заблокированных кабинетов нет." in texts(at)


def test_the_open_card_is_read_before_the_lists_and_shown_under_them(dash_app, logged_in,
                                                                      monkeypatch):
    """A row's click shows the customer's card without waiting for the search's and the
    blocked cabinets' lists: the card is read and drawn first, into its place under them;
    «Найти» still closes it and searches what was typed, in the same run."""
    from core.customers import blocked_cabinets

    active, _, _ = _three_states(dash_app)
    at, _ = logged_in(StaffRole.AGENT)
    search(at, "852-96-93")
    read = record_calls(monkeypatch, (contact_center, "open_customer_card"),
                        (contact_center, "search_customers"),
                        (blocked_cabinets, "list_blocked_cabinets"))
    open_row(at, "cust", "customer")
    assert not at.exception, at.exception
    assert read == ["open_customer_card", "search_customers", "list_blocked_cabinets"]
    assert at.query_params["customer"] == str(active)
    order = [e.type for e in _walk(at.main) if e.type in ("dataframe", "subheader")]
    assert order.index("dataframe") < order.index("subheader")  # the card under the list
    _search(at, "852-96-95", "Все")
    assert "customer" not in at.query_params
    assert table_with(at, "E-mail")["E-mail"].tolist() == ["blocked@example.ru"]


def _walk(node):  # type: ignore[no-untyped-def]
    """Every element under ``node``, in the page's order (AppTest keeps it by position)."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)
