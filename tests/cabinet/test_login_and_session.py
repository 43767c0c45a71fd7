"""«Вход» and the customer's session in the cabinet: refusals with core's sentences, and the
session's end on «Выйти», on a password change elsewhere, after idle time and on self-block,
each leaving nothing of the pages behind."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from core import customer_api as api
from core.db.models import CustomerSession
from tests.cabinet.conftest import cabinet, log_in
from tests.dashboard.helpers import button, texts
from tests.factories import customers


def _logged_out(at) -> bool:  # type: ignore[no-untyped-def]
    return "Вход в личный кабинет" in texts(at) and not [b for b in at.button
                                                          if b.label == "Выйти"]


def test_a_wrong_password_is_refused_and_nobody_is_logged_in(cab_app, customer):
    phone, _ = customer()
    at = log_in(cabinet(), phone, "Wrong1234")
    assert not at.exception
    assert "Неверный логин или пароль" in texts(at)
    assert _logged_out(at)


def test_the_right_password_opens_the_sections_of_the_manual(cab_app, logged_in):
    at, phone, _ = logged_in()
    assert [b.label for b in at.button if b.label == "Выйти"] == ["Выйти"]
    assert "К оплате" in [t.label for t in at.tabs] and "Все" in [t.label for t in at.tabs]
    for page in ("views/payment.py", "views/history.py", "views/settings.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


def test_after_five_wrong_passwords_the_login_says_until_when_it_is_locked(cab_app, customer):
    phone, _ = customer()
    at = cabinet()
    for _ in range(5):
        at = log_in(at, phone, "Wrong1234")
    at = log_in(at, phone)  # even the right password now waits
    assert "Вход заблокирован до" in texts(at)
    assert _logged_out(at)


def test_a_blocked_cabinet_is_told_to_call_the_contact_center(cab_app, customer):
    phone, own = customer()
    api.block_own_cabinet(cab_app, own.session_token, "потерял телефон")
    at = log_in(cabinet(), phone)
    assert "Личный кабинет заблокирован" in texts(at)
    assert "8 800 100 39 00" in texts(at)
    assert _logged_out(at)


def test_logout_ends_the_session_and_forgets_every_page_value(cab_app, logged_in):
    at, _, _ = logged_in()
    token = at.session_state["cab_token"]
    at.session_state["cab_pay_invoice"] = 12345  # what a page was doing
    at = button(at, "Выйти").click().run()
    assert "Вы вышли из личного кабинета" in texts(at)
    assert _logged_out(at)
    assert "cab_pay_invoice" not in at.session_state and "cab_token" not in at.session_state
    try:
        api.current_customer_id(cab_app, token)
    except api.DomainError:
        pass
    else:
        raise AssertionError("the token still works after «Выйти»")


def test_a_password_change_elsewhere_ends_this_session(cab_app, logged_in):
    at, _, own = logged_in()
    api.change_password(cab_app, own.session_token, customers.PASSWORD, "Nw7pass42x")
    at.session_state["cab_pay_invoice"] = 1
    at.run()
    assert "Сеанс завершён" in texts(at)
    assert _logged_out(at) and "cab_pay_invoice" not in at.session_state


def test_an_idle_session_ends_with_the_reason(cab_app, logged_in):
    at, _, _ = logged_in()
    with cab_app.uow() as uow:
        uow.session.execute(update(CustomerSession).values(
            last_seen_at=cab_app.now() - timedelta(minutes=31)))
        uow.commit()
    at.run()
    assert _logged_out(at)
    assert "войдите снова" in texts(at).lower()


def test_self_block_asks_first_then_logs_out_and_login_names_the_number(cab_app, logged_in):
    at, phone, own = logged_in()
    at.switch_page("views/settings.py").run()
    assert "только, обратившись в Контакт-центр по бесплатному номеру 8 800 100 39 00" \
        in texts(at)
    at.text_input(key="cab_block_reason").input("уезжаю")
    at = button(at, "Заблокировать личный кабинет").click().run()
    assert api.current_customer_id(cab_app, own.session_token)  # not yet: a confirmation
    at = button(at, "Отмена").click().run()
    at = button(at, "Заблокировать личный кабинет").click().run()
    at = button(at, "Да, заблокировать").click().run()
    assert not at.exception
    assert _logged_out(at) and "Личный кабинет заблокирован" in texts(at)
    at = log_in(at, phone)
    assert "8 800 100 39 00" in texts(at) and _logged_out(at)


def test_self_block_without_a_reason_is_refused_and_changes_nothing(cab_app, logged_in):
    at, _, own = logged_in()
    at.switch_page("views/settings.py").run()
    at = button(at, "Заблокировать личный кабинет").click().run()
    at = button(at, "Да, заблокировать").click().run()
    assert "Причина блокировки" in texts(at)
    assert api.current_customer_id(cab_app, own.session_token)


def test_the_cabinet_server_adds_the_back_offices_security_headers():
    import cabinet.server
    from webapp.preload import PreloadModules
    from webapp.security import SecurityHeaders

    # st.App keeps its middleware here (pinned Streamlit version)
    assert [m.cls for m in cabinet.server.app._user_middleware] == [SecurityHeaders,
                                                                   PreloadModules]
    assert cabinet.server.app._script_path.name == "app.py"
