"""The cabinet's «Войти» costs one script run: the click is taken before the app chooses
its pages, so the run that got it draws the landing page, the refusal or the code step
(a ``st.rerun()`` after the login made it two). Counted by the entry script's own hook."""
from __future__ import annotations

from webapp import script_runs
from tests.cabinet.conftest import cabinet
from tests.cabinet.test_login_activation import PHONE, _registered_earlier
from tests.dashboard.helpers import button, texts
from tests.factories import customers


def _click_login(at, phone: str, password: str = customers.PASSWORD) -> int:  # type: ignore[no-untyped-def]
    at.text_input(key="cab_login_phone").input(phone)
    at.text_input(key="cab_login_password").input(password)
    before = script_runs.count()
    button(at, "Войти").click().run()
    return script_runs.count() - before


def _logged_in(at) -> bool:  # type: ignore[no-untyped-def]
    return [b.label for b in at.button if b.label == "Выйти"] == ["Выйти"]


def test_the_right_password_shows_the_landing_page_in_the_same_run(cab_app, customer):
    phone, _ = customer()
    at = cabinet()
    assert _click_login(at, phone) == 1
    assert not at.exception, at.exception
    assert _logged_in(at) and "Вход в личный кабинет" not in [t.value for t in at.title]
    assert "К оплате" in [t.label for t in at.tabs]  # «Счета к оплате», drawn in that run
    assert at.session_state["cab_token"]


def test_a_wrong_password_is_refused_under_the_form_in_one_run(cab_app, customer):
    phone, _ = customer()
    at = cabinet()
    assert _click_login(at, phone, "Wrong1234") == 1
    assert "Неверный логин или пароль" in texts(at)
    assert [t.value for t in at.title] == ["Вход в личный кабинет"] and not _logged_in(at)
    assert "cab_token" not in at.session_state
    at.run()  # the next run shows the form alone: the refusal was said once
    assert "Неверный логин или пароль" not in texts(at)


def test_a_cabinet_never_activated_goes_to_its_code_step_in_one_run(cab_app):
    _registered_earlier(cab_app)
    at = cabinet()
    assert _click_login(at, PHONE) == 1
    assert "Личный кабинет ещё не активирован" in texts(at)
    assert "Новый код отправлен в SMS" in texts(at)
    assert "Код из SMS" in [t.label for t in at.text_input] and not _logged_in(at)
