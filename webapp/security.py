"""The security headers of every HTTP answer of both apps, as Starlette middleware for
``st.App`` (Streamlit has no setting for response headers; ``middleware`` is the place
it offers, run before Streamlit's own).
"""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
