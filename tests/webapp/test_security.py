"""The security headers both apps' servers add to every HTTP answer (one middleware)."""
from __future__ import annotations

import asyncio

from webapp.preload import PreloadModules
from webapp.security import SECURITY_HEADERS, SecurityHeaders


def _answer(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict] = []

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    asyncio.run(SecurityHeaders(inner)({"type": "http"}, None, send))  # type: ignore[arg-type]
    return sent[0]["headers"]


def test_every_answer_gets_the_headers_and_keeps_its_own():
    got = dict(_answer([(b"X-Frame-Options", b"DENY")]))
    assert got[b"X-Frame-Options"] == b"DENY"  # the app's own answer wins
    assert b"x-frame-options" not in got
    for name, value in SECURITY_HEADERS:
        if name != b"x-frame-options":
            assert got[name] == value
    assert b"frame-ancestors 'self'" in got[b"content-security-policy"]


def test_the_back_office_server_uses_it():
    import dashboard.server

    # st.App keeps its middleware here (pinned Streamlit version)
    assert [m.cls for m in dashboard.server.app._user_middleware] == [SecurityHeaders,
                                                                     PreloadModules]
