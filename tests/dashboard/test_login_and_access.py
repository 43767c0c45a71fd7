"""Staff login, roles and server-side sessions in AppTest."""
from __future__ import annotations

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.db.models import AuditEntry
from core.actors import StaffRole
from core.staff import members
from tests.dashboard.conftest import APP_FILE, ROOT, login
from tests.dashboard.helpers import leave_idle, shown, texts
from tests.factories.customers import STAFF_PASSWORD, make_staff


def test_wrong_staff_password_is_refused_and_audited(dash_app):
    agent = make_staff(dash_app, StaffRole.AGENT)
    at = login(AppTest.from_file(APP_FILE, default_timeout=60), agent.login, "wrong-pass-1")
    assert "Неверный логин или пароль" in texts(at)
    assert not at.title  # no page drawn
    unknown = login(AppTest.from_file(APP_FILE, default_timeout=60), "nobody", "wrong-pass-1")
    assert "Неверный логин или пароль" in texts(unknown)
    with dash_app.uow(write=False) as uow:
        failed = uow.session.scalars(select(AuditEntry.actor_label).where(
            AuditEntry.action == "staff.login_failed")).all()
    assert sorted(failed) == sorted([agent.login, "nobody"])


def test_five_wrong_passwords_lock_the_staff_login(dash_app):
    agent = make_staff(dash_app, StaffRole.AGENT)
    for _ in range(5):
        login(AppTest.from_file(APP_FILE, default_timeout=60), agent.login, "wrong-pass-1")
    at = login(AppTest.from_file(APP_FILE, default_timeout=60), agent.login, STAFF_PASSWORD)
    assert "Вход заблокирован до" in texts(at)
    assert not at.title


def test_manager_does_not_see_customers(logged_in):
    at, _ = logged_in(StaffRole.MANAGER)
    assert [t.value for t in at.title] == ["Бэк-офис личного кабинета ЖКХ"]
    # Its address (a colleague's link) says so and lands on «Главная», showing nothing of it.
    at.switch_page("views/customers.py").run()
    assert [t.value for t in at.title] == ["Бэк-офис личного кабинета ЖКХ"]
    assert [shown(e.value) for e in at.error] == ["Нет доступа к разделу «Клиенты»"]
    assert not at.text_input


def test_an_agent_opening_reconciliation_by_its_address_is_told_and_lands(logged_in):
    at, _ = logged_in(StaffRole.AGENT)
    at.switch_page("views/reconciliation.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Клиенты"]
    assert [shown(e.value) for e in at.error] == ["Нет доступа к разделу «Сверка»"]
    assert not at.file_uploader  # nothing of «Сверка» is drawn


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard" / "views" / name), default_timeout=60)


def test_a_page_checks_the_role_itself_when_opened_directly(dash_app):
    manager = make_staff(dash_app, StaffRole.MANAGER)
    page = _page("customers.py")
    page.session_state["auth_staff_token"] = members.login(
        dash_app, manager.login, STAFF_PASSWORD).session_token
    page.run()
    assert [e.value for e in page.error] == ["Недостаточно прав для этой страницы"]
    assert not page.text_input


def test_a_page_opened_without_a_session_shows_nothing(dash_app):
    page = _page("customers.py")
    page.session_state["auth_actor"] = make_staff(dash_app, StaffRole.ADMIN)  # forged state
    page.run()
    assert [shown(e.value) for e in page.error] == ["Сеанс завершён, войдите снова"]
    assert not page.text_input


def test_agent_lands_on_customers_and_admin_sees_every_page(logged_in):
    at, _ = logged_in(StaffRole.AGENT)
    assert [t.value for t in at.title] == ["Клиенты"]
    at.switch_page("views/staff.py").run()
    assert [t.value for t in at.title] == ["Клиенты"]
    assert [shown(e.value) for e in at.error] == ["Нет доступа к разделу «Сотрудники»"]
    admin_at, _ = logged_in(StaffRole.ADMIN)
    admin_at.switch_page("views/staff.py").run()
    assert [t.value for t in admin_at.title] == ["Сотрудники"]


def test_session_ends_when_the_staff_member_logs_out_elsewhere(dash_app, logged_in):
    at, agent = logged_in(StaffRole.AGENT)
    other_tab = members.login(dash_app, agent.login, STAFF_PASSWORD)
    members.logout(dash_app, other_tab.session_token)
    at.run()
    assert "Сеанс завершён" in texts(at)
    assert [t.label for t in at.text_input] == ["Логин", "Пароль"]
    assert not at.title


def test_session_ends_when_the_staff_member_is_deactivated(dash_app, logged_in):
    at, agent = logged_in(StaffRole.AGENT)
    members.set_active(dash_app, None, agent.staff_id, False)
    at.run()
    assert "учётная запись сотрудника отключена" in texts(at)
    assert not at.title
    again = login(AppTest.from_file(APP_FILE, default_timeout=60), agent.login, STAFF_PASSWORD)
    assert "Неверный логин или пароль" in texts(again)


def test_logout_button_ends_the_session(dash_app, logged_in):
    at, agent = logged_in(StaffRole.AGENT)
    at.sidebar.button(key="staff_logout").click().run()
    assert "Вы вышли из системы" in texts(at)
    with dash_app.uow(write=False) as uow:
        assert uow.session.scalar(select(AuditEntry.id).where(
            AuditEntry.action == "staff.logout", AuditEntry.staff_id == agent.staff_id))


def test_fifteen_idle_minutes_ask_for_the_password_again(dash_app, logged_in):
    at, agent = logged_in(StaffRole.AGENT)
    leave_idle(dash_app, agent.staff_id)
    at.run()
    assert "15 минут бездействия: введите пароль снова" in texts(at)
    assert [t.label for t in at.text_input] == ["Логин", "Пароль"]
    login(at, agent.login)
    assert [t.value for t in at.title] == ["Клиенты"]
