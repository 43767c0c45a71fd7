"""The login form's «Войти», taken before the app chooses its pages.

``st.navigation`` is called once per run with the logged-out or the logged-in pages: a
login taken inside the «Вход» page came after that choice and needed ``st.rerun()``, a
second script run for every login. Taken here, from the form's values in the session
state, the run that got the click already draws the landing page. A refusal is kept for
the form to show under it; a cabinet never activated goes on to its code step."""
from __future__ import annotations

import streamlit as st

from cabinet import session
from cabinet.activation import wait_for_code
from cabinet.widgets import flash
from core import customer_api as api
from core.app import App

SUBMIT = "cab_login_submit"
PHONE = "cab_login_phone"
PASSWORD = "cab_login_password"
REFUSAL = "cab_login_refusal"


def take_login(app: App) -> None:
    """When «Войти» was clicked in this run: log in, or keep why not (``REFUSAL``)."""
    if not st.session_state.get(SUBMIT):
        return
    phone = st.session_state.get(PHONE, "")
    password = st.session_state.get(PASSWORD, "")
    try:
        login = api.login(app, phone, password)
    except api.NotActivated:
        _resume(app, phone, password)
    except api.DomainError as error:
        st.session_state[REFUSAL] = error
    else:
        session.start(login)


def _resume(app: App, phone: str, password: str) -> None:
    """The login's «введите код из SMS», made possible: a fresh code, then its step."""
    try:
        found = api.resume_activation(app, phone, password)
    except api.DomainError as error:
        st.session_state[REFUSAL] = error
        return
    flash("Новый код отправлен в SMS" if found.code_sent
          else "Код отправлен в SMS меньше минуты назад: введите его", "info")
    wait_for_code(found.customer_id, found.phone, found.email)


def pop_refusal() -> api.DomainError | None:
    """The refusal of this run's login, once."""
    return st.session_state.pop(REFUSAL, None)
