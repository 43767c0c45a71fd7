"""The re-login cookie without a component that answers back.

streamlit-authenticator keeps its cookie through extra_streamlit_components' CookieManager:
a custom component (an iframe with its own script bundle) drawn on every run, whose
«getAll», «set» and «delete» calls each send a value back when they mount, and so each
rerun the script. Measured in chromium: the login form's first load ran the script twice
and a login three to four times. Nothing of what it sends back is needed: the library
reads the cookie from the request (``st.context.cookies``); only writing it needs the
browser. ``BrowserCookies`` is that: the same methods, reading ``st.context.cookies`` and
writing ``document.cookie`` with one script in the page, which answers nothing.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import quote

import streamlit as st

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def cookie_line(name: str, value: str, *, expires_at: datetime, path: str = "/",
                secure: bool | None = None,
                same_site: Literal["lax", "strict"] | bool | None = "strict") -> str:
    """What ``document.cookie`` is given: the value URL-encoded as the component did."""
    moment = expires_at if expires_at.tzinfo else expires_at.astimezone()
    parts = [f"{name}={_encode(value)}", f"path={path}",
             f"expires={format_datetime(moment.astimezone(timezone.utc), usegmt=True)}"]
    if same_site:
        parts.append(f"SameSite={'Strict' if same_site is True else same_site.capitalize()}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _encode(value: str) -> str:
    return quote(str(value), safe="")


def served_over_https() -> bool:
    try:
        if str(st.context.url or "").startswith("https://"):
            return True
        return str(st.context.headers.get("X-Forwarded-Proto", "")).lower() == "https"
    except (AttributeError, RuntimeError):
        return False


def write_cookie(line: str) -> None:
    """One script in the page; it draws nothing (an empty, zero-height element)."""
    st.html(f"<script>document.cookie = {json.dumps(line)};</script>",
            unsafe_allow_javascript=True)


class BrowserCookies:
    """Stands in for ``extra_streamlit_components.CookieManager`` (the methods
    streamlit-authenticator 0.4.2 calls): reads come from the request, writes go to
    ``document.cookie``, and no call reruns the script."""

    def __init__(self, key: str = "init") -> None:
        self.cookies: dict[str, Any] = self.get_all()

    def get(self, cookie: str) -> Any:
        return self.cookies.get(cookie)

    def get_all(self, key: str = "get_all") -> dict[str, Any]:
        try:
            return dict(st.context.cookies)
        except (AttributeError, RuntimeError):  # a bare script run without a request
            return {}

    def set(self, cookie: str, val: str | int | float | bool, key: str = "set",
            path: str = "/", expires_at: datetime | None = None,
            max_age: float | None = None, domain: str | None = None,
            secure: bool | None = None,
            same_site: bool | None | Literal["lax", "strict"] = "strict") -> None:
        if not cookie:
            return
        if expires_at is None:
            expires_at = datetime.now() + timedelta(days=1)
        write_cookie(cookie_line(cookie, str(val), expires_at=expires_at, path=path,
                                 secure=secure, same_site=same_site))
        self.cookies[cookie] = val

    def delete(self, cookie: str, key: str = "delete") -> None:
        if not cookie:
            return
        # Over HTTPS the cookie was set Secure; only a Secure line may replace it.
        write_cookie(cookie_line(cookie, "", expires_at=_EPOCH,
                                 secure=served_over_https() or None))
        self.cookies.pop(cookie, None)
