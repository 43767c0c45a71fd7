"""The login form's widget code named in the HTML page both servers send (webapp.preload)."""
from __future__ import annotations

import asyncio
import re

from webapp import preload
from webapp.preload import PreloadModules

STATIC = preload.static_folder()
PAGE = (STATIC / "index.html").read_bytes()


def _served(body_parts: list[bytes], *, content_type: bytes = b"text/html; charset=utf-8",
            method: str = "GET", status: int = 200,
            extra: list[tuple[bytes, bytes]] | None = None,
            modules: tuple[str, ...] | None = None) -> tuple[dict, bytes]:
    """The start message and the whole body a browser gets through the middleware, the
    inner app answering in ``body_parts`` (more than one: a streamed answer)."""
    headers = [(b"content-type", content_type),
               (b"content-length", str(sum(map(len, body_parts))).encode()), *(extra or [])]

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for index, part in enumerate(body_parts):
            await send({"type": "http.response.body", "body": part,
                        "more_body": index < len(body_parts) - 1})

    sent: list[dict] = []

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/"}
    asyncio.run(PreloadModules(inner, modules)(scope, None, send))  # type: ignore[arg-type]
    assert sent[0]["type"] == "http.response.start"
    return sent[0], b"".join(m.get("body", b"") for m in sent[1:])


def _named(html: bytes) -> list[str]:
    return re.findall(r'rel="modulepreload" crossorigin href="\./static/js/([^"]+)"',
                      html.decode())


def test_the_login_modules_are_the_widgets_code_the_main_bundle_does_not_load():
    modules = preload.login_modules()
    roots = [name for name in modules if name.split(".")[0] in preload.LOGIN_WIDGETS]
    assert [name.split(".")[0] for name in roots] == list(preload.LOGIN_WIDGETS)
    assert modules[0].startswith("TextInput.") and modules[0].endswith(".js")
    js = STATIC / "static" / "js"
    assert all((js / name).is_file() for name in modules)
    assert len(set(modules)) == len(modules)
    entry = re.findall(r'<script type="module"[^>]*src="\./static/js/([^"]+)"', PAGE.decode())
    assert entry and entry[0] not in modules  # the page's own bundle is not named again
    assert not set(modules) & set(_named(PAGE))
    # Each other one is imported by a widget's module or by one of those (none is stray).
    imported = {m for name in modules
                for m in re.findall(r'(?:from|import)\s*"\./([^"]+\.js)"',
                                    (js / name).read_text(encoding="utf-8"))}
    assert set(modules) - set(roots) <= imported


def test_the_page_gets_a_link_for_each_module_before_its_head_ends():
    modules = preload.login_modules()
    start, body = _served([PAGE[:1000], PAGE[1000:]])  # streamed in two parts
    assert start["status"] == 200
    assert _named(body) == _named(PAGE) + list(modules)
    assert body.index(b"TextInput.") < body.index(b"</head>")
    assert dict(start["headers"])[b"content-length"] == str(len(body)).encode()
    assert body.replace(b"".join(
        f'<link rel="modulepreload" crossorigin href="./static/js/{m}">'.encode()
        for m in modules), b"") == PAGE  # nothing else of the page changed


def test_a_module_the_page_already_names_is_not_named_twice():
    named = _named(PAGE)[0]
    _, body = _served([PAGE], modules=(named, "TextInput.x.js"))
    assert _named(body).count(named) == 1
    assert _named(body)[-1] == "TextInput.x.js"


def test_other_answers_pass_untouched():
    script = b'import"./x.js";console.log("</head>")'
    for body_parts, kind, extra, status in (
            ([script], b"text/javascript", None, 200),
            ([PAGE], b"text/html", [(b"content-encoding", b"gzip")], 200),  # compressed
            ([PAGE], b"text/html", None, 304)):
        start, body = _served(body_parts, content_type=kind, extra=extra, status=status)
        assert body == b"".join(body_parts)
        assert dict(start["headers"])[b"content-length"] == str(len(body)).encode()


def test_a_head_request_passes_untouched():
    # Starlette answers a HEAD with the file's length and no body: nothing to rewrite.
    start, body = _served([b""], method="HEAD", modules=("TextInput.x.js",))
    assert body == b""
    assert dict(start["headers"])[b"content-length"] == b"0"


def test_a_widget_streamlit_no_longer_has_preloads_nothing(tmp_path):
    (tmp_path / "TextInput.abc.js").write_text('import{a}from"./gone.js";')
    assert preload.module_closure(tmp_path, ("NoSuchWidget",)) == []
    assert preload.module_closure(tmp_path, ("TextInput",)) == ["TextInput.abc.js"]
