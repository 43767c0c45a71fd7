"""The last net of both apps: an error no page caught is logged with its traceback and told
to the person in Russian, never shown as a stack trace."""
from __future__ import annotations

import logging

import pytest
import streamlit as st

from webapp.server import script_error_handler


def test_an_uncaught_error_is_logged_and_told_in_russian(monkeypatch, caplog):
    shown: list[str] = []
    monkeypatch.setattr(st, "error", shown.append)
    handler = script_error_handler("cabinet", "личного кабинета", "обратитесь в Контакт-центр.")
    try:
        raise RuntimeError("секрет из трассировки")
    except RuntimeError as error:
        with caplog.at_level(logging.ERROR, logger="cabinet"):
            assert handler(error) is True  # handled: Streamlit shows no traceback
    assert shown == ["Что-то пошло не так: действие не выполнено. Попробуйте ещё раз; "
                     "обратитесь в Контакт-центр."]
    [record] = caplog.records
    assert record.getMessage() == "Ошибка на странице личного кабинета"
    assert record.exc_info and record.exc_info[1].args == ("секрет из трассировки",)


@pytest.mark.parametrize("module", ["dashboard.server", "cabinet.server"])
def test_both_apps_are_served_through_it(module):
    import importlib

    from webapp.preload import PreloadModules
    from webapp.security import SecurityHeaders

    app = importlib.import_module(module).app
    assert [m.cls for m in app._user_middleware] == [SecurityHeaders, PreloadModules]
    assert app._script_path.name == "app.py"


@pytest.mark.parametrize("server", ["dashboard/server.py", "cabinet/server.py"])
def test_streamlit_run_finds_the_app_with_its_headers(server):
    """`streamlit run` reads the file for an ``st.App(...)`` call; one hidden in a helper
    would be missed, and the bare script served without the security headers."""
    from pathlib import Path

    from streamlit.web.server.app_discovery import discover_asgi_app

    root = Path(__file__).resolve().parents[2]
    found = discover_asgi_app(root / server)
    assert found.is_asgi_app and found.app_name == "app"
