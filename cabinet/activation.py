"""The activation step, the same on «Регистрация» and on «Вход»: the 4-digit code from the
SMS, «Активировать» (the customer is then logged in), «Отправить код повторно», and a way
back to the page's own form. Whose code it is stays in ``REGISTERING`` until then, which is
also what the demo's panel reads the SMS for."""
from __future__ import annotations

import streamlit as st

from cabinet import session
from cabinet.widgets import REGISTERING, act, get_app, show_error, show_flash
from core import customer_api as api


def waiting() -> int | None:
    """The cabinet whose code this tab asks for, if any."""
    found = st.session_state.get(REGISTERING)
    return found[0] if found else None


def wait_for_code(customer_id: int, phone: str, email: str) -> None:
    st.session_state[REGISTERING] = (customer_id, phone, email)


def code_step(customer_id: int, intro: str, back_label: str, *, kind: str = "success") -> None:
    """``intro``: the page's sentence above the code, shown as ``kind`` (st.success, st.info)."""
    show_flash()
    getattr(st, kind)(intro)
    app = get_app()
    with st.form("cab_activate"):
        code = st.text_input("Код из SMS", max_chars=4, key="cab_reg_code")
        submitted = st.form_submit_button("Активировать", type="primary")
    if submitted:
        try:
            login = api.activate(app, customer_id, code)
        except api.DomainError as error:
            show_error(error)
        else:
            session.start(login)
            st.rerun()
    if st.button("Отправить код повторно", key="cab_reg_resend"):
        if act(lambda: api.resend_activation_code(app, customer_id),
               "Новый код отправлен в SMS"):
            st.rerun()
    if st.button(back_label, key="cab_reg_restart"):
        st.session_state.pop(REGISTERING, None)
        st.rerun()
