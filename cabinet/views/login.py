"""«Вход»: телефон и пароль. Wrong password, lockout and a blocked cabinet answer with core's
sentences (the blocked one names the Контакт-центр's number)."""
from __future__ import annotations

import streamlit as st

from cabinet import session
from cabinet.widgets import get_app, show_error
from core import customer_api as api

st.title("Вход в личный кабинет")
session.show_notice()
with st.form("cab_login"):
    phone = st.text_input("Телефон", placeholder="+7 9XX XXX-XX-XX", key="cab_login_phone")
    password = st.text_input("Пароль", type="password", key="cab_login_password")
    submitted = st.form_submit_button("Войти", type="primary")
if submitted:
    try:
        login = api.login(get_app(), phone, password)
    except api.DomainError as error:
        show_error(error)
    else:
        session.start(login)
        st.rerun()
st.page_link("views/register.py", label="Регистрация", icon=":material/person_add:")
st.page_link("views/guest_payment.py", label="Произвольный платёж", icon=":material/payments:")
