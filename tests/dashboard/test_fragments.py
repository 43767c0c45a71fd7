"""The lists and cards of «Платежи», «Клиенты» and «Счета» are fragments: a click inside
reruns the fragment alone, passing neither app.py's login check nor the page's guard. The
fragment checks the staff session itself on such a rerun (widgets.fragment)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.actors import StaffRole
from core.staff import members
from dashboard import widgets
from dashboard.auth import TOKEN
from tests.dashboard.helpers import leave_idle
from tests.factories.customers import STAFF_PASSWORD, make_staff


class _Rerun(Exception):
    """What st.rerun does: the whole app runs again (and shows the login)."""


def _fragment_rerun(monkeypatch: pytest.MonkeyPatch, token: str) -> list[str]:
    """A fragment wrapped by widgets.fragment, called as Streamlit calls it on a rerun of
    that fragment alone; returns what its body drew."""
    drawn: list[str] = []

    def rerun() -> None:
        raise _Rerun

    monkeypatch.setattr(widgets, "st", SimpleNamespace(
        session_state={TOKEN: token}, rerun=rerun, fragment=lambda body: body))
    monkeypatch.setattr(widgets, "get_script_run_ctx",
                        lambda: SimpleNamespace(fragment_ids_this_run=["the list"]))
    widgets.fragment(lambda: drawn.append("the list"))()
    return drawn


def test_a_fragment_rerun_draws_for_a_live_session(dash_app, monkeypatch):
    agent = make_staff(dash_app, StaffRole.AGENT)
    started = members.login(dash_app, agent.login, STAFF_PASSWORD, None,
                            members.client_hash(None, None))
    assert _fragment_rerun(monkeypatch, started.session_token) == ["the list"]


def test_a_fragment_rerun_after_the_session_ended_reruns_the_app(dash_app, monkeypatch):
    agent = make_staff(dash_app, StaffRole.AGENT)
    started = members.login(dash_app, agent.login, STAFF_PASSWORD, None,
                            members.client_hash(None, None))
    leave_idle(dash_app, agent.staff_id)  # the 15-minute limit passed
    with pytest.raises(_Rerun):
        _fragment_rerun(monkeypatch, started.session_token)
    with pytest.raises(_Rerun):
        _fragment_rerun(monkeypatch, "")  # logged out in this tab
