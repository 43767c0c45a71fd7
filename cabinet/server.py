"""What `streamlit run cabinet/server.py` serves: the customer's cabinet (``app.py``) with the
back office's security headers and last net for errors (``webapp.server``, one for both)."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `streamlit run cabinet/server.py` from anywhere
    sys.path.insert(0, str(HERE.parent))

import streamlit as st  # noqa: E402

from webapp.server import MIDDLEWARE, script_error_handler  # noqa: E402

on_script_error = script_error_handler(
    "cabinet", "личного кабинета",
    "если ошибка повторится, обратитесь в Контакт-центр по бесплатному "
    "номеру 8 800 100 39 00.")
app = st.App(HERE / "app.py", middleware=MIDDLEWARE, on_script_error=on_script_error)

if __name__ == "__main__":
    app.run()
