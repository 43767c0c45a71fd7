"""The customer's session in this browser tab: the token ``login``/``activate`` handed out,
kept in ``st.session_state`` only (never in the URL), checked by core on every run.

The session ends on «Выйти», and core ends it after idle time (``SESSION_IDLE``), on a
password change in another tab or device and on the cabinet's block: the next run's check
fails, and then, as on «Выйти», every key of every page goes (an invoice being paid, typed
values, a prepared receipt), so nothing of it reaches whoever uses this tab next.
"""
from __future__ import annotations

import streamlit as st

from core import customer_api as api
from core.app import App
from core.errors import ServiceUnavailable

TOKEN = "cab_token"
CUSTOMER = "cab_customer_id"
NOTICE = "cab_notice"
VIEWER = "cab_viewed_by"  # «Смотреть как клиент»: the staff member's name, else None
VIEW_LINK = "view"  # the back office's one-time link: ?view=<ticket>


def start(login: api.CustomerLogin) -> None:
    """Logged in (after activation or the login form): what was typed before goes."""
    forget(None)
    st.session_state[TOKEN] = login.session_token
    st.session_state[CUSTOMER] = login.customer_id


def open_staff_view(app: App) -> None:
    """The back office's «Смотреть как клиент» link: its one-time ticket becomes this
    tab's read-only session, and leaves the address bar at once (it would not open twice,
    but it need not sit in the history either)."""
    ticket = st.query_params.get(VIEW_LINK)
    if ticket is None:
        return
    del st.query_params[VIEW_LINK]
    try:
        start(api.enter_cabinet_view(app, ticket))
    except ServiceUnavailable:
        raise
    except api.DomainError as error:
        forget(str(error))


def note_viewer(name: str | None) -> None:
    st.session_state[VIEWER] = name


def viewing() -> bool:
    """A staff member's read-only view: every page's acting buttons are disabled (the
    core refuses them anyway; a disabled button says so before the click)."""
    return bool(st.session_state.get(VIEWER))


def token() -> str:
    return str(st.session_state.get(TOKEN) or "")


def current_customer(app: App) -> int | None:
    """The logged-in customer, or None (the session, if any, has ended: its state is gone
    and the notice says why)."""
    if not token():
        return None
    try:
        customer_id = api.current_customer_id(app, token())
    except ServiceUnavailable:
        raise  # the database, not the session: the customer stays logged in
    except api.DomainError as error:  # ended, idle, or the cabinet blocked
        forget(str(error))
        return None
    st.session_state[CUSTOMER] = customer_id
    return customer_id


def replace_token(new_token: str) -> None:
    """A password change ends every other session and hands this tab a new one."""
    st.session_state[TOKEN] = new_token


def logout(app: App) -> None:
    was_viewing = viewing()
    if token():
        api.logout(app, token())
    forget("Просмотр кабинета закончен" if was_viewing else "Вы вышли из личного кабинета")


def forget(notice: str | None) -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[NOTICE] = notice


def show_notice() -> None:
    if st.session_state.get(NOTICE):
        st.info(st.session_state.pop(NOTICE))
