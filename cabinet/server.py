"""What `streamlit run cabinet/server.py` serves: the customer's cabinet (``app.py``) as an
``st.App``, with the back office's security headers (``webapp.security``, one middleware for
both) and a last net that logs an error no page caught and tells the customer in Russian."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `streamlit run cabinet/server.py` from anywhere
    sys.path.insert(0, str(HERE.parent))

from webapp.security import SecurityHeaders  # noqa: E402

log = logging.getLogger("cabinet")


def on_script_error(error: Exception) -> bool:
    log.error("Ошибка на странице личного кабинета", exc_info=error)
    st.error("Что-то пошло не так: действие не выполнено. Попробуйте ещё раз; если ошибка "
             "повторится, обратитесь в Контакт-центр по бесплатному номеру 8 800 100 39 00.")
    return True


app = st.App(HERE / "app.py", middleware=[Middleware(SecurityHeaders)],
             on_script_error=on_script_error)

if __name__ == "__main__":
    app.run()
