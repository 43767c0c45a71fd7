from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: object) -> str:
    """What a person reads of an element's markdown source: backslash escapes (which
    the pages put before every punctuation mark of text that came from a person)
    render as the bare characters, and the invisible word joiners that keep addresses
    from becoming links are not seen."""
    return _ESCAPE.sub(r"\1", str(markdown)).replace("\u2060", "")  # and word joiners


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button «{label}»; have {[b.label for b in at.button]}"
    return matches[0]


def texts(at: AppTest) -> str:
    """Everything a person reads on the page, for 'is it said' checks."""
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "success", "error", "warning",
                 "info"):
        parts += [shown(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def search(at: AppTest, query: str) -> AppTest:
    at.text_input(key="cust_query_input").input(query)
    return button(at, "Найти").click().run()


def open_row(at: AppTest, key: str, param: str, index: int = 0) -> AppTest:
    """What a click on a list's row does (AppTest cannot click a table's row): the row's
    card number goes to the address, as widgets.row_table's callback puts it."""
    ids = at.session_state[f"{key}_row_ids"]
    at.query_params[param] = str(ids[index])
    return at.run()


def pick_row(at: AppTest, key: str, record_id: int) -> AppTest:
    """A click on a row of a list inside a card (widgets.row_table without an address)."""
    assert record_id in at.session_state[f"{key}_row_ids"], "no such row on the list"
    at.session_state[f"{key}_picked"] = record_id
    return at.run()


def table_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    """The one table on the page that has this column."""
    tables = [t.value for t in at.dataframe if column in t.value.columns]
    assert len(tables) == 1, f"{len(tables)} tables with «{column}»"
    return tables[0]


def open_first_card(at: AppTest) -> AppTest:
    return open_row(at, "cust", "customer")


def open_tab(at: AppTest, key: str, title: str) -> AppTest:
    """A click on a tab of tabs drawn with ``key`` (only the open tab is drawn)."""
    at.session_state[key] = title
    at.run()
    assert not at.exception, at.exception
    return at


def open_card_tab(at: AppTest, title: str) -> AppTest:
    """A click on a tab of the open customer card: only the open tab is drawn."""
    from dashboard.components.customer_card import card_tab_key

    opened = at.query_params["customer"]  # as assigned, or a list once the page set it
    customer_id = int(opened[0] if isinstance(opened, list) else opened)
    return open_tab(at, card_tab_key(customer_id), title)


def confirm(at: AppTest, reason: str | None = None) -> AppTest:
    if reason is not None:
        at.text_area[-1].input(reason)
    return button(at, "Подтвердить").click().run()


def leave_idle(app, staff_id: int, minutes: int = 16) -> None:  # type: ignore[no-untyped-def]
    """The member's tab has been left alone for ``minutes`` (past the 15-minute limit)."""
    from datetime import timedelta

    from sqlalchemy import update

    from core.db.models import StaffSession

    with app.uow() as uow:
        uow.session.execute(update(StaffSession).where(StaffSession.staff_id == staff_id)
                            .values(last_seen_at=app.now() - timedelta(minutes=minutes)))
        uow.commit()


def record_calls(monkeypatch, *functions: tuple[object, str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Each named function of each module, still doing its work, noted in call order."""
    calls: list[str] = []
    for module, name in functions:
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: (
            calls.append(_name), _real(*a, **k))[1])
    return calls
