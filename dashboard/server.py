"""What `streamlit run dashboard/server.py` serves: the back office (``app.py``) as an
``st.App``, so that every HTTP answer carries our security headers and an error that
escapes a page is logged with its traceback and shown to staff in Russian.

Streamlit has no setting for response headers; ``st.App``'s ``middleware`` is the
place it offers (Starlette middleware, run before Streamlit's own).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `streamlit run dashboard/server.py` from anywhere
    sys.path.insert(0, str(HERE.parent))

log = logging.getLogger("dashboard")

# Images only from the app itself (a picture in someone's text must never reach a
# tracker), no plugins, no <base> tricks, and no framing by other sites: Streamlit
# frames its own components (the login cookie's), so «self» stays allowed.
# Scripts and styles are not restricted: Streamlit's page has an inline script and
# its components inline styles, which a stricter policy would break.
CONTENT_SECURITY_POLICY = ("img-src 'self' data: blob:; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'self'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response (pages, static files, /media)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in SECURITY_HEADERS if name not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
