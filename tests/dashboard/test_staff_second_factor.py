"""The staff second factor in the back office (AppTest): administrators and finance enrol
before any page opens, log in with a TOTP code, others may; an administrator resets a
password (a temporary one, shown once) and a second factor on «Сотрудники»."""
from __future__ import annotations

import pyotp
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.actors import StaffRole
from core.db.models import AuditEntry, StaffUser
from core.staff import members
from tests.dashboard.conftest import APP_FILE, login
from tests.dashboard.helpers import button, confirm, texts
from tests.factories.customers import STAFF_PASSWORD, make_staff
from tests.factories.second_factor import enrol, fresh_code

NEW_PASSWORD = "Own-pass-2027"


def _app_test() -> AppTest:
    return AppTest.from_file(APP_FILE, default_timeout=60)


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def _has_input(at: AppTest, key: str) -> bool:
    return any(t.key == key for t in at.text_input)


def test_an_admin_without_a_second_factor_enrols_before_any_page(dash_app):
    admin = make_staff(dash_app, StaffRole.ADMIN)
    at = login(_app_test(), admin.login)
    assert not at.exception, at.exception
    assert "Вход: подключите двухфакторный вход" in texts(at)
    assert not _titles(at)  # no page
    at.switch_page("views/staff.py").run()
    assert "Сотрудники" not in _titles(at) and not at.dataframe
    assert len(at.get("image")) == 1  # the QR code
    secret = at.code[0].value.replace(" ", "")  # the key for typing by hand
    at.text_input(key="enrol_code").input("000000")
    button(at, "Подключить").click().run()
    assert "Код: неверный" in texts(at) and not _titles(at)

    at.text_input(key="enrol_code").input(pyotp.TOTP(secret).now())
    button(at, "Подключить").click().run()
    assert "Резервные коды двухфакторного входа" in texts(at)
    recovery = at.code[0].value.split("\n")
    assert len(recovery) == 10 and not _titles(at)
    button(at, "Коды сохранены, продолжить").click().run()
    assert _titles(at) == ["Сотрудники"]  # the page asked for before the login
    table = at.dataframe[0].value.set_index("Логин")
    assert table["Двухфакторный вход"][admin.login] == "подключён"
    with dash_app.uow(write=False) as uow:
        row = uow.session.scalar(select(StaffUser).where(StaffUser.login == admin.login))
    assert row.totp_secret_enc and secret not in row.totp_secret_enc

    # The codes are not shown again: a new tab's login asks for a code.
    again = login(_app_test(), admin.login)
    assert "Вход: код двухфакторного входа" in texts(again)
    assert secret not in str([c.value for c in again.code])


def test_finance_logs_in_with_a_code_after_the_password(dash_app):
    finance = make_staff(dash_app, StaffRole.FINANCE)
    enrol(dash_app, finance.login, STAFF_PASSWORD)
    at = login(_app_test(), finance.login)
    assert "Вход: код двухфакторного входа" in texts(at) and not _titles(at)
    at.text_input(key="login_totp_code").input("111111")
    button(at, "Подтвердить").click().run()
    assert "Код: неверный или уже использованный" in texts(at) and not _titles(at)
    at.text_input(key="login_totp_code").input(fresh_code(dash_app, finance.login))
    button(at, "Подтвердить").click().run()
    assert not at.exception, at.exception
    assert _titles(at) and "Вход:" not in texts(at)  # the landing page
    with dash_app.uow(write=False) as uow:
        failed = uow.session.scalars(select(AuditEntry.actor_label).where(
            AuditEntry.action == "staff.totp_failed")).all()
    assert failed == [finance.login]


def test_cancel_at_the_code_step_goes_back_to_the_login_form(dash_app):
    finance = make_staff(dash_app, StaffRole.FINANCE)
    enrol(dash_app, finance.login, STAFF_PASSWORD)
    at = login(_app_test(), finance.login)
    button(at, "Отмена").click().run()
    assert "Вход отменён" in texts(at)
    assert _has_input(at, "login_totp_code") is False and not _titles(at)


def test_the_second_factor_is_optional_for_an_agent(dash_app, logged_in):
    at, agent = logged_in(StaffRole.AGENT)
    assert _titles(at) == ["Клиенты"]  # no step between the password and the page
    assert "Не подключён: по желанию для вашей роли." in [c.value for c in at.sidebar.caption]
    at.sidebar.button(key="tfa_enrol").click().run()
    secret = at.sidebar.code[0].value.replace(" ", "")
    at.sidebar.text_input(key="enrol_code").input(pyotp.TOTP(secret).now())
    [b for b in at.sidebar.button if b.label == "Подключить"][0].click().run()
    assert "Резервные коды двухфакторного входа" in texts(at)
    button(at, "Коды сохранены, продолжить").click().run()
    assert _titles(at) == ["Клиенты"]
    assert members.login(dash_app, agent.login, STAFF_PASSWORD).pending == "totp"


def test_admin_resets_a_password_and_the_member_sets_a_new_one_at_login(dash_app, logged_in):
    at, admin = logged_in(StaffRole.ADMIN)
    agent = make_staff(dash_app, StaffRole.AGENT, login="petrov")
    at.switch_page("views/staff.py").run()
    at.selectbox(key="staff_pick").select(agent.staff_id).run()
    at.button(key="staff_pw_btn").click().run()
    confirm(at)
    assert "Временный пароль выдан" in texts(at)
    temporary = at.code[0].value
    assert len(temporary) == 14
    assert at.dataframe[0].value.set_index("Логин")["Пароль"]["petrov"] == \
        "временный, сменит при входе"
    button(at, "Пароль передан, скрыть").click().run()
    assert not at.code

    member = login(_app_test(), "petrov", temporary)
    assert "Вход: задайте свой пароль" in texts(member) and not _titles(member)
    member.text_input(key="login_new_pw").input(NEW_PASSWORD)
    member.text_input(key="login_new_pw2").input("Other-pass-2028")
    button(member, "Сменить пароль").click().run()
    assert "Повтор пароля: не совпадает" in texts(member)
    member.text_input(key="login_new_pw2").input(NEW_PASSWORD)
    button(member, "Сменить пароль").click().run()
    assert _titles(member) == ["Клиенты"]
    assert login(_app_test(), "petrov", NEW_PASSWORD).title[0].value == "Клиенты"
    with dash_app.uow(write=False) as uow:
        reset = uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "staff.password_reset"))
    assert reset.staff_id == admin.staff_id and reset.after == {"login": "petrov",
                                                                "temporary": True}


def test_admin_resets_a_members_second_factor(dash_app, logged_in):
    at, admin = logged_in(StaffRole.ADMIN)
    finance = make_staff(dash_app, StaffRole.FINANCE, login="vlasov")
    enrol(dash_app, "vlasov", STAFF_PASSWORD)
    at.switch_page("views/staff.py").run()
    assert at.dataframe[0].value.set_index("Логин")["Двухфакторный вход"]["vlasov"] == \
        "подключён"
    at.selectbox(key="staff_pick").select(finance.staff_id).run()
    at.button(key="staff_tfa_btn").click().run()
    confirm(at)
    assert "Двухфакторный вход сброшен" in texts(at)
    assert at.dataframe[0].value.set_index("Логин")["Двухфакторный вход"]["vlasov"] == \
        "нет — обязателен, подключит при входе"
    member = login(_app_test(), "vlasov")
    assert "Вход: подключите двухфакторный вход" in texts(member)


def test_the_demo_admin_logs_in_with_the_code_its_step_shows(dash_app):
    from core.demo.guard import DEMO_STAFF
    from core.demo.rich import ensure_demo_staff

    ensure_demo_staff(dash_app)
    password = {login: pw for login, _, _, pw in DEMO_STAFF}["admin"]
    at = login(_app_test(), "admin", password)
    hint = [i.value for i in at.info if str(i.value).startswith("Демо:")]
    assert hint, texts(at)
    at.text_input(key="login_totp_code").input(hint[0].rsplit(" ", 1)[1])
    button(at, "Подтвердить").click().run()
    assert _titles(at) and "Вход:" not in texts(at)
