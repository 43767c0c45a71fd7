"""«Вход»: телефон и пароль. Wrong password, lockout and a blocked cabinet answer with core's
sentences (the blocked one names the Контакт-центр's number). A cabinet registered but never
activated (the page with the SMS code was lost) goes on, with the right password, to the
activation step with a fresh code, and is logged in after it."""
from __future__ import annotations

import streamlit as st

from cabinet import login_submit, session
from cabinet.activation import code_step, waiting
from cabinet.widgets import show_error

NOT_ACTIVATED = ("Личный кабинет ещё не активирован. Введите код активации из SMS, "
                 "отправленного на номер мобильного телефона, указанный при регистрации "
                 "(код состоит из 4 цифр).")


def _form() -> None:
    session.show_notice()
    with st.form("cab_login"):
        st.text_input("Телефон", placeholder="+7 9XX XXX-XX-XX", key=login_submit.PHONE)
        st.text_input("Пароль", type="password", key=login_submit.PASSWORD)
        st.form_submit_button("Войти", type="primary", key=login_submit.SUBMIT)
    # The click itself was taken before the pages were chosen (cabinet.login_submit).
    refusal = login_submit.pop_refusal()
    if refusal is not None:
        show_error(refusal)
    st.page_link("views/register.py", label="Регистрация", icon=":material/person_add:")
    st.page_link("views/guest_payment.py", label="Произвольный платёж",
                 icon=":material/payments:")


st.title("Вход в личный кабинет")
pending = waiting()
if pending is not None:
    code_step(pending, NOT_ACTIVATED, "Вернуться ко входу", kind="info")
else:
    _form()
