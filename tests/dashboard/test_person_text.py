"""Text that came from a person (a block reason, an address, a note, a staff name) is
shown as the characters typed: an image in it is not fetched, a link is not a link.

Each element's markdown source is checked: the raw markdown of an image or a link must
not be in it, and what it renders to (``shown``) must be the text as typed."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.actors import StaffActor, StaffRole
from core.customers import contact_center
from core.customers.rules import PersonalData
from core.staff import members
from tests.dashboard.conftest import APP_FILE, login
from tests.dashboard.helpers import open_card_tab, open_first_card, search, shown
from tests.factories.customers import register_and_activate

PIXEL = "![p](http://tracker.example/p.png)"
LINK = "[жми](http://evil.example/x)"
REASON = f"Звонил мошенник {PIXEL} {LINK} www.evil.example **срочно**"
ADDRESS = f"г. Тверь, ул. Ленина, 1 {PIXEL}"
NOTE = f"Клиент прислал {LINK} и :material/warning: $x$"


def _markdown_sources(at) -> list[str]:  # type: ignore[no-untyped-def]
    sources = []
    for kind in ("markdown", "warning", "subheader", "caption", "info", "error", "success"):
        sources += [str(e.value) for e in getattr(at, kind)]
    for table in at.table:
        sources += [str(v) for v in table.value.to_numpy().ravel()]
    return sources


def _assert_shown_as_text(sources: list[str], typed: str) -> None:
    holding = [s for s in sources if typed in shown(s)]
    assert holding, f"«{typed}» is not on the page"
    for source in holding:
        for markup in (PIXEL, LINK, "**срочно**", ":material/warning:", "www.evil.example"):
            assert markup not in source, f"{markup!r} reaches markdown as is: {source!r}"


def test_block_reason_address_notes_and_staff_name_are_shown_as_text(dash_app):
    customer = register_and_activate(
        dash_app, phone="+79161112233", personal=PersonalData(address=ADDRESS))
    admin = members.add_staff(dash_app, None, login="boss", name=f"Начальник {LINK}",
                              email="boss@office.example.ru", role=StaffRole.ADMIN,
                              password="Staff-pass-2026")
    agent_id = members.add_staff(dash_app, None, login="agent_md", name="Оператор **жирный**",
                                 email="agent_md@office.example.ru", role=StaffRole.AGENT,
                                 password="Staff-pass-2026")
    boss = StaffActor(admin, "boss", StaffRole.ADMIN)
    contact_center.add_note(dash_app, boss, customer.customer_id, NOTE)
    contact_center.block(dash_app, boss, customer.customer_id, REASON)
    assert agent_id

    at = AppTest.from_file(APP_FILE, default_timeout=60)
    login(at, "agent_md")
    assert not at.exception, at.exception
    # The sidebar's own name, as typed by the administrator.
    sidebar = [str(m.value) for m in at.sidebar.markdown]
    assert any("Оператор **жирный**" in shown(m) for m in sidebar), sidebar
    assert all("**жирный**" not in m for m in sidebar), sidebar
    search(at, "+7 916 111-22-33")
    open_first_card(at)
    assert not at.exception, at.exception
    sources = _markdown_sources(at)
    _assert_shown_as_text(sources, REASON)
    _assert_shown_as_text(sources, ADDRESS)
    _assert_shown_as_text(sources, f"Начальник {LINK}")
    open_card_tab(at, "Заметки")
    _assert_shown_as_text(_markdown_sources(at), NOTE)
