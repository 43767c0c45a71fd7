"""«Вход»: телефон и пароль. Wrong password, lockout and a blocked cabinet answer with core's
sentences (the blocked one names the Контакт-центр's number). A cabinet registered but never
activated (the page with the SMS code was lost) goes on, with the right password, to the
activation step with a fresh code, and is logged in after it."""
from __future__ import annotations

import streamlit as st

from cabinet import session
from cabinet.activation import code_step, wait_for_code, waiting
from cabinet.widgets import flash, get_app, show_error
from core import customer_api as api

NOT_ACTIVATED = ("Личный кабинет ещё не активирован. Введите код активации из SMS, "
                 "отправленного на номер мобильного телефона, указанный при регистрации "
                 "(код состоит из 4 цифр).")


def _resume(phone: str, password: str) -> None:
    """The login's «введите код из SMS», made possible: a fresh code, then its step."""
    try:
        found = api.resume_activation(get_app(), phone, password)
    except api.DomainError as error:
        show_error(error)
        return
    flash("Новый код отправлен в SMS" if found.code_sent
          else "Код отправлен в SMS меньше минуты назад: введите его", "info")
    wait_for_code(found.customer_id, found.phone, found.email)
    st.rerun()


def _form() -> None:
    session.show_notice()
    with st.form("cab_login"):
        phone = st.text_input("Телефон", placeholder="+7 9XX XXX-XX-XX", key="cab_login_phone")
        password = st.text_input("Пароль", type="password", key="cab_login_password")
        submitted = st.form_submit_button("Войти", type="primary")
    if submitted:
        try:
            login = api.login(get_app(), phone, password)
        except api.NotActivated:
            _resume(phone, password)
        except api.DomainError as error:
            show_error(error)
        else:
            session.start(login)
            st.rerun()
    st.page_link("views/register.py", label="Регистрация", icon=":material/person_add:")
    st.page_link("views/guest_payment.py", label="Произвольный платёж",
                 icon=":material/payments:")


st.title("Вход в личный кабинет")
pending = waiting()
if pending is not None:
    code_step(pending, NOT_ACTIVATED, "Вернуться ко входу", kind="info")
else:
    _form()
