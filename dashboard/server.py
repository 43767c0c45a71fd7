"""What `streamlit run dashboard/server.py` serves: the back office (``app.py``) as an
``st.App``, so that every HTTP answer carries our security headers and an error that
escapes a page is logged with its traceback and shown to staff in Russian.

The headers are ``webapp.security``'s, the same for the customer's cabinet.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `streamlit run dashboard/server.py` from anywhere
    sys.path.insert(0, str(HERE.parent))

from webapp.security import SecurityHeaders  # noqa: E402  (shared with cabinet/server.py)

log = logging.getLogger("dashboard")


def on_script_error(error: Exception) -> bool:
    """Last net for an error no page caught: logged with its traceback, shown in Russian."""
    log.error("Ошибка на странице бэк-офиса", exc_info=error)
    st.error("Что-то пошло не так: действие не выполнено. Попробуйте ещё раз; если ошибка "
             "повторится, сообщите администратору (время ошибки записано в журнал сервера).")
    return True


app = st.App(HERE / "app.py", middleware=[Middleware(SecurityHeaders)],
             on_script_error=on_script_error)

if __name__ == "__main__":
    app.run()
