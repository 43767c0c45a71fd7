"""What both apps' ``server.py`` put into their ``st.App``: our security headers
(``webapp.security``), the login form's widget code named in the page (``webapp.preload``)
and a last net for an error no page caught, logged with its traceback
and told to the person in Russian.

Each ``server.py`` still writes ``st.App(...)`` itself: ``streamlit run`` finds the app by
reading the file's source (``streamlit.web.server.app_discovery``), not by running it, and a
factory's call would make it serve the bare script without these headers."""
from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st
from starlette.middleware import Middleware

from webapp.preload import PreloadModules, login_modules
from webapp.security import SecurityHeaders

MIDDLEWARE = [Middleware(SecurityHeaders), Middleware(PreloadModules)]
login_modules()  # read from Streamlit's files once, when the server starts


def script_error_handler(log_name: str, place: str, apology: str) -> Callable[[Exception], bool]:
    log = logging.getLogger(log_name)

    def on_script_error(error: Exception) -> bool:
        log.error("Ошибка на странице %s", place, exc_info=error)
        st.error(f"Что-то пошло не так: действие не выполнено. Попробуйте ещё раз; {apology}")
        return True
    return on_script_error
