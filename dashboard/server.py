"""What `streamlit run dashboard/server.py` serves: the back office (``app.py``), so that every
HTTP answer carries our security headers and an error that escapes a page is logged with
its traceback and shown to staff in Russian (``webapp.server``, the same for the cabinet)."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `streamlit run dashboard/server.py` from anywhere
    sys.path.insert(0, str(HERE.parent))

import streamlit as st  # noqa: E402

from dashboard import warmup  # noqa: E402
from webapp.server import MIDDLEWARE, script_error_handler  # noqa: E402

warmup.warm()  # before the health check answers: no first visitor waits for imports

on_script_error = script_error_handler(
    "dashboard", "бэк-офиса",
    "если ошибка повторится, сообщите администратору (время ошибки записано "
    "в журнал сервера).")
app = st.App(HERE / "app.py", middleware=MIDDLEWARE, on_script_error=on_script_error)

if __name__ == "__main__":
    app.run()
