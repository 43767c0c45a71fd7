"""What one staff member leaves in a tab: nothing for the next one after «Выйти» or a
session end; and a database that cannot be written is said so, never taken for a logout."""
from __future__ import annotations

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.actors import StaffRole
from core.db.models import AuditEntry
from tests.dashboard.conftest import APP_FILE, login
from tests.dashboard.helpers import (button, leave_idle, open_card_tab, open_first_card, search,
                                     texts)
from tests.factories.customers import make_staff, register_and_activate
from tests.factories.dbstate import read_only_database

UNAVAILABLE = "Сервис временно недоступен: база данных не отвечает"


def _downloads(at: AppTest) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def _card_views(dash_app, staff_id: int) -> int:  # type: ignore[no-untyped-def]
    with dash_app.uow(write=False) as uow:
        return len(uow.session.scalars(select(AuditEntry.id).where(
            AuditEntry.action == "customer.card_view",
            AuditEntry.staff_id == staff_id)).all())


def test_logout_leaves_nothing_of_the_last_member_to_the_next(dash_app, logged_in):
    register_and_activate(dash_app, phone="+79267770011", email="nina@example.ru")
    at, admin = logged_in(StaffRole.ADMIN)
    search(at, "+7 926 777-00-11")
    open_first_card(at)
    at.button(key="cust_export").click().run()
    assert "Скачать файл" in _downloads(at)
    assert [s.value for s in at.subheader][:1] == ["ФИО не указано"]  # the card is open

    at.sidebar.button(key="staff_logout").click().run()
    assert "Вы вышли из системы" in texts(at)
    assert not _downloads(at)
    ours = [k for k in at.session_state._state.filtered_state  # type: ignore[attr-defined]
            if k.startswith(("cust", "card", "confirm", "flash", "auth_staff", "auth_actor"))]
    assert ours == []

    agent = make_staff(dash_app, StaffRole.AGENT)
    login(at, agent.login)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Клиенты"]
    assert not at.subheader, [s.value for s in at.subheader]  # no card of the admin's
    assert not _downloads(at)  # no «Скачать файл» of the admin's export
    assert at.text_input(key="cust_query_input").value == ""  # nor the admin's search
    assert _card_views(dash_app, agent.staff_id) == 0  # the journal blames nobody wrongly
    assert _card_views(dash_app, admin.staff_id) == 1


def test_a_session_end_also_clears_the_pages(dash_app, logged_in):
    register_and_activate(dash_app, phone="+79267770012")
    at, agent = logged_in(StaffRole.AGENT)
    search(at, "+7 926 777-00-12")
    open_first_card(at)
    leave_idle(dash_app, agent.staff_id)
    at.run()
    assert "15 минут бездействия: введите пароль снова" in texts(at)
    assert "cust_row_ids" not in at.session_state
    assert "cust_query" not in at.session_state


def test_a_read_only_database_is_said_and_is_no_logout(dash_app, logged_in):
    register_and_activate(dash_app, phone="+79267770013")
    at, admin = logged_in(StaffRole.ADMIN)
    search(at, "+7 926 777-00-13")
    open_card_tab(open_first_card(at), "Заметки")
    other = make_staff(dash_app, StaffRole.AGENT)
    dash_app.engine.dispose()
    with read_only_database():
        # A write on a page: the note is not added, and the page says why.
        at.text_area(key="card_note_text").input("Перезвонить завтра")
        button(at, "Добавить заметку").click().run()
        assert not at.exception, at.exception
        assert UNAVAILABLE in texts(at)
        assert "Сеанс завершён" not in texts(at)
        assert [m.value for m in at.sidebar.markdown]  # still logged in: name and role
        # A login meanwhile: the same sentence, not «Сеанс завершён» nor a wrong password.
        fresh = login(AppTest.from_file(APP_FILE, default_timeout=60), other.login)
        assert not fresh.exception, fresh.exception
        assert UNAVAILABLE in texts(fresh)
        assert "Сеанс завершён" not in texts(fresh)
        assert "Неверный логин или пароль" not in texts(fresh)
    with dash_app.uow(write=False) as uow:
        assert not uow.session.scalar(select(AuditEntry.id).where(
            AuditEntry.action == "customer.note_add"))
