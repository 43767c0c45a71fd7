"""The login steps' widget code named in the page itself, so the browser fetches it with the
page's own bundle instead of after the first script run.

Streamlit's frontend loads each widget's code only when the server first sends such a
widget: a fresh browser (a new colleague, a customer's first visit) got the login form's
text fields, then asked for ``TextInput`` and its 18 modules, and showed the form only
when they came; the code step's plain buttons then waited for ``Button`` the same way. In
chromium at full scale that wait was 0.2-0.6 s of the form's 1.1-1.8 s first load (request
timings of the page, ``benchmarks/browser.py``). ``PreloadModules``
adds ``<link rel="modulepreload">`` for those modules to the HTML page, as Vite's own build
does for the main bundle's; a module the page already names is not named twice.

The module files carry content hashes that change with each Streamlit release, so the list
is read from the installed Streamlit's static folder when the server starts, following
each module's static ``import`` statements.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What the login steps draw that the main bundle does not already hold: text fields, and
# the plain buttons of the code step (a form and its button come with the main bundle).
LOGIN_WIDGETS = ("TextInput", "Button")
_STATIC_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"\./([\w.\-]+\.js)"')
_ENTRY = re.compile(r'<script type="module"[^>]*src="\./static/js/([\w.\-]+\.js)"')
_NAMED = re.compile(r'href="\./static/js/([\w.\-]+\.js)"')


def static_folder() -> Path:
    from streamlit import file_util

    return Path(file_util.get_static_dir())


def module_closure(js_folder: Path, widgets: tuple[str, ...]) -> list[str]:
    """The file names of each widget's module (``TextInput.<hash>.js``) and of every module
    it imports statically, transitively, in the order first met; a widget Streamlit no
    longer has is skipped (nothing to preload is better than a broken page)."""
    return _closure(js_folder, [match.name for widget in widgets
                                for match in sorted(js_folder.glob(f"{widget}.*.js"))[:1]])


def widget_modules(static: Path, widgets: tuple[str, ...]) -> list[str]:
    """``module_closure`` less what the page's main bundle loads anyway (its entry script's
    own closure): what would otherwise wait for the first script run."""
    page = (static / "index.html").read_text(encoding="utf-8")
    entry = _ENTRY.findall(page)
    loaded = set(_closure(static / "static" / "js", entry))
    return [name for name in module_closure(static / "static" / "js", widgets)
            if name not in loaded]


def _closure(js_folder: Path, queue: list[str]) -> list[str]:
    found: list[str] = []
    while queue:
        name = queue.pop(0)
        if name in found or not (js_folder / name).is_file():
            continue
        found.append(name)
        queue += _STATIC_IMPORT.findall((js_folder / name).read_text(encoding="utf-8"))
    return found


def preload_links(html: str, modules: list[str]) -> str:
    """``html`` with a modulepreload link for each module it does not already name, just
    before ``</head>``; unchanged without a head."""
    named = set(_NAMED.findall(html))
    links = "".join(f'<link rel="modulepreload" crossorigin href="./static/js/{name}">'
                    for name in modules if name not in named)
    if not links or "</head>" not in html:
        return html
    return html.replace("</head>", links + "</head>", 1)


@cache
def login_modules() -> tuple[str, ...]:
    return tuple(widget_modules(static_folder(), LOGIN_WIDGETS))


class PreloadModules:
    """Rewrites every uncompressed HTML answer to a GET (the page Streamlit serves at ``/``
    and at each page's path) with ``preload_links``; every other answer passes untouched (a
    HEAD's has no body to rewrite: its length stays the file's)."""

    def __init__(self, app: ASGIApp, modules: tuple[str, ...] | None = None) -> None:
        self.app = app
        self.modules = modules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                if (headers.get("content-type", "").startswith("text/html")
                        and "content-encoding" not in headers and message.get("status") == 200):
                    start = message  # held until the whole body is read
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                modules = self.modules if self.modules is not None else login_modules()
                page = preload_links(b"".join(body).decode("utf-8"), list(modules)).encode()
                headers = MutableHeaders(raw=list(start.get("headers", [])))
                headers["content-length"] = str(len(page))
                await send({**start, "headers": headers.raw})
                await send({"type": "http.response.body", "body": page})
                return
            await send(message)

        await self.app(scope, receive, rewrite)
