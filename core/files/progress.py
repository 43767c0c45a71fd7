"""Progress of a long export, heard by whoever started it (a page's progress bar).

A context variable rather than a parameter through every service: the page wraps
its ``build()`` in :func:`reporting`, and the export module asks :func:`reporter`
for a callback — so services keep one signature, and the core never imports
Streamlit.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# (rows written so far, rows expected or None)
Listener = Callable[[int, "int | None"], None]
_listener: ContextVar[Listener | None] = ContextVar("export_progress", default=None)


@contextmanager
def reporting(listener: Listener) -> Iterator[None]:
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def reporter(total: int | None) -> Callable[[int], None] | None:
    """A callback for ``exports.to_xlsx(progress=...)``, or None when nobody listens."""
    listener = _listener.get()
    if listener is None:
        return None
    return lambda written: listener(written, total)
