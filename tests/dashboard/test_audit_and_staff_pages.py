"""«Журнал действий» and «Сотрудники» in AppTest."""
from __future__ import annotations

import io
from datetime import date

import openpyxl
from sqlalchemy import select

from core.db.models import AuditEntry, StaffUser
from core.actors import StaffRole
from core.customers import contact_center
from core.staff import members
from tests.dashboard.helpers import button, confirm, texts
from tests.factories.customers import make_staff, register_and_activate


def test_admin_filters_the_journal_by_action_and_customer_phone(dash_app, logged_in):
    login = register_and_activate(dash_app, phone="+79260001122")
    other = register_and_activate(dash_app, phone="+79260003344")
    agent = make_staff(dash_app, StaffRole.AGENT)
    contact_center.block(dash_app, agent, login.customer_id, "Утеря телефона")
    contact_center.block(dash_app, agent, other.customer_id, "Просьба клиента")
    at, _ = logged_in(StaffRole.ADMIN)
    at.switch_page("views/audit.py").run()
    at.selectbox(key="aud_action").select("customer.block")
    at.text_input(key="aud_phone").input("8 926 000-11-22")
    button(at, "Показать").click().run()
    table = at.dataframe[0].value
    assert table["Действие"].tolist() == ["Блокировка"]
    assert table["Причина"].tolist() == ["Утеря телефона"]
    assert table["Кто"].tolist() == [f"Сотрудник {agent.login}"]


def test_bad_filters_are_explained(dash_app, logged_in):
    at, _ = logged_in(StaffRole.ADMIN)
    at.switch_page("views/audit.py").run()
    at.text_input(key="aud_phone").input("12345")
    button(at, "Показать").click().run()
    assert "Телефон: введите мобильный номер" in texts(at)
    at.text_input(key="aud_phone").input("")
    at.date_input(key="aud_from").set_value(date(2026, 11, 20))
    at.date_input(key="aud_to").set_value(date(2026, 11, 10))
    button(at, "Показать").click().run()
    assert "Период: дата «с» позже даты «по»" in texts(at)


def test_an_agent_sees_only_own_actions_and_can_export_them(dash_app, logged_in):
    login = register_and_activate(dash_app)
    someone = make_staff(dash_app, StaffRole.AGENT)
    contact_center.open_customer_card(dash_app, someone, login.customer_id)
    at, agent = logged_in(StaffRole.AGENT)
    at.switch_page("views/audit.py").run()
    assert "Показаны только ваши действия" in texts(at)
    assert set(at.dataframe[0].value["Кто"]) == {f"Сотрудник {agent.login}"}
    at.button(key="aud_export").click().run()
    data = at.session_state["aud_export_data"]
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert {sheet.cell(row=r, column=2).value for r in range(2, sheet.max_row + 1)} == {
        f"Сотрудник {agent.login}"}
    with dash_app.uow(write=False) as uow:
        assert uow.session.scalar(select(AuditEntry.staff_id).where(
            AuditEntry.action == "audit.export")) == agent.staff_id


def test_customer_search_export_from_the_page(dash_app, logged_in):
    for n in range(3):
        register_and_activate(dash_app, phone=f"+7 926 555-00-0{n}")
    at, _ = logged_in(StaffRole.AGENT)
    at.text_input(key="cust_query_input").input("926 555")
    button(at, "Найти").click().run()
    at.button(key="cust_export").click().run()
    sheet = openpyxl.load_workbook(io.BytesIO(at.session_state["cust_export_data"])).active
    assert sheet.max_row == 4


def test_admin_adds_a_staff_member_and_changes_the_role(dash_app, logged_in):
    at, admin = logged_in(StaffRole.ADMIN)
    at.switch_page("views/staff.py").run()
    at.text_input[0].input("Kotova")  # the add form: login, name, e-mail, password
    at.text_input[1].input("Марина Котова")
    at.text_input[2].input("kotova@example.ru")
    at.text_input[3].input("short")
    button(at, "Создать").click().run()
    assert "Пароль: не короче 10 символов" in texts(at)
    at.text_input[3].input("Kotova-pass-2026")
    button(at, "Создать").click().run()
    assert "Сотрудник Kotova создан" in texts(at)
    assert "kotova" in at.dataframe[0].value["Логин"].tolist()

    kotova_id = members.find_staff_id(dash_app, "kotova")
    token = members.login(dash_app, "kotova", "Kotova-pass-2026").session_token
    at.selectbox(key="staff_pick").select(kotova_id)
    at.selectbox(key="staff_new_role").select(StaffRole.FINANCE)
    at.button(key="staff_role_btn").click().run()
    confirm(at)
    assert "Роль изменена" in texts(at)
    with dash_app.uow(write=False) as uow:
        assert uow.session.get(StaffUser, kotova_id).role is StaffRole.FINANCE
    import pytest
    from core.customers.errors import SessionInvalid
    with pytest.raises(SessionInvalid, match="роль сотрудника изменена"):
        members.check_session(dash_app, token)


def test_admin_sees_a_login_lock_and_lifts_it(dash_app, logged_in):
    from core.customers.errors import LoginFailed
    from tests.factories.customers import STAFF_PASSWORD
    import pytest

    at, admin = logged_in(StaffRole.ADMIN)
    kotova = make_staff(dash_app, StaffRole.AGENT, login="kotova")
    for _ in range(5):
        with pytest.raises(LoginFailed):
            members.login(dash_app, "kotova", "Wrong-pass-2026", "203.0.113.7")
    at.switch_page("views/staff.py").run()
    table = at.dataframe[0].value.set_index("Логин")["Вход заблокирован"]
    assert table["kotova"].startswith("до ") and table["kotova"].endswith(
        "(МСК), с адреса: 203.0.113.7")
    assert table[admin.login] == "нет"

    at.selectbox(key="staff_pick").select(kotova.staff_id).run()
    at.button(key="staff_unlock_btn").click().run()
    assert not at.exception, at.exception
    assert "Блокировка входа kotova снята" in texts(at)
    assert at.dataframe[0].value.set_index("Логин")["Вход заблокирован"]["kotova"] == "нет"
    assert not [b for b in at.button if b.label == "Снять блокировку входа"]
    assert members.login(dash_app, "kotova", STAFF_PASSWORD, "203.0.113.7").actor == kotova
    with dash_app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry)
                                   .where(AuditEntry.action == "staff.login_unlock"))
        assert (entry.staff_id, entry.before["login"]) == (admin.staff_id, "kotova")
