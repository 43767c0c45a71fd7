"""The browser benchmark's «the table's first row is shown» is what a person sees: the
grid's canvas has drawn the row, whether or not glide's accessibility table (built through
a 200 ms debounce after the cells are drawn) exists yet; a grid in a hidden tab or with
no rows is not shown. No timing is asserted here."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import browser

pytestmark = pytest.mark.browser

if browser.available():
    pytest.skip(browser.available() or "", allow_module_level=True)

APP = '''import pandas as pd
import streamlit as st

st.title("Строки")
shown, hidden = st.tabs(["Открытая", "Скрытая"])
with shown:
    st.dataframe(pd.DataFrame({"Номер": [f"№ {n}" for n in range(25)]}), key="rows",
                 hide_index=True, width="stretch")
with hidden:
    st.dataframe(pd.DataFrame({"Номер": ["скрыт"] * 5}), key="hidden", hide_index=True)
st.title("Пусто")
st.dataframe(pd.DataFrame({"Номер": []}), key="empty", hide_index=True)
'''

# Which grid (in page order) the check counts as drawn when it is the only fresh one, with
# the accessibility tables removed first (as they are for 200+ ms after the cells are drawn).
_DRAWN_KEYS = """([title, css, idle, text, rows]) => {
    document.querySelectorAll('[data-testid="stDataFrame"] table').forEach((t) => t.remove());
    const found = [];
    const grids = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
    for (const [n, key] of ['rows', 'hidden', 'empty'].entries()) {
        const others = grids.filter((g, i) => i !== n);
        others.forEach((g) => g.setAttribute('data-stale', 'true'));
        if ((%s)([title, css, idle, text, rows])) found.push(key);
        others.forEach((g) => g.removeAttribute('data-stale'));
    }
    return found;
}"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    work: Path = tmp_path_factory.mktemp("rows")
    (work / "rows.py").write_text(APP)
    server = browser.streamlit_server(work / "rows.py", dict(os.environ), work / "rows.log")
    with browser.serving({"rows": server}) as bases, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser.CHROMIUM,
                                              args=browser.LAUNCH_ARGS)
        try:
            tab = chromium.new_page(viewport=browser.VIEWPORT)
            tab.goto(bases["rows"])
            # Settled: the accessibility table is built, so every grid has been drawn.
            tab.locator(browser.ROW).first.wait_for(state="attached", timeout=30_000)
            browser.settle(tab)
            yield tab
        finally:
            chromium.close()


def test_a_drawn_row_counts_before_the_accessibility_table_exists(page) -> None:  # type: ignore[no-untyped-def]
    target = browser.Target("Строки", browser.ROW)
    drawn = page.evaluate(_DRAWN_KEYS % browser._SHOWN, target.arg())
    assert drawn == ["rows"]  # not the hidden tab's grid, not the empty one


def test_the_bare_table_page_of_the_baselines_has_a_drawn_first_row(page) -> None:  # type: ignore[no-untyped-def]
    assert browser.BARE_TARGETS["table switch"].css == browser.ROW
    assert page.evaluate(browser._SHOWN, browser.Target("Строки", browser.ROW).arg())
