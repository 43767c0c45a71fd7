"""«Аналитика» and «Сверка» as Chromium draws them (issue 14, points 4 and 5): at a
laptop's 1280 px no KPI tile cuts its number or label with «…», and the charts' axes
read Russian months and «1 234 567 ₽» (no «Nov», no «0,2M»); the file uploader reads
«Выбрать файл» and «CSV или XLSX, до 100 МБ», not «Upload» and «200MB per file»."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.actors import StaffRole
from core.analytics import rollups
from tests.browser.harness import (  # skips the module without chromium or playwright
    TIMEOUT, page_shown, streamlit_server, sync_api, test_app,
)
from tests.factories.billing import make_provider
from tests.factories.customers import STAFF_PASSWORD, make_staff
from tests.factories.payments import make_payment

pytestmark = pytest.mark.browser
UPLOADER_PAGE = Path(__file__).resolve().parent / "uploader_page.py"
SHOTS = os.environ.get("SCREENSHOTS_DIR")  # where to keep the pages' pictures, if set

# Elements whose text is cut (an ellipsis) or spills: what is drawn is narrower than
# what it holds. Checked on the text-bearing descendants of every metric tile.
_CUT_TILES = """() => {
    const cut = [];
    for (const part of document.querySelectorAll(
            '[data-testid="stMetricValue"], [data-testid="stMetricLabel"]')) {
        for (const el of [part, ...part.querySelectorAll('*')]) {
            if (el.scrollWidth > el.clientWidth + 1) { cut.push(part.innerText); break; }
        }
    }
    return cut;
}"""
_TICKS = """() => Array.from(document.querySelectorAll(
    '[data-testid="stPlotlyChart"] .xtick text, [data-testid="stPlotlyChart"] .ytick text'))
    .map(t => t.textContent)"""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    work = tmp_path_factory.mktemp("browser_charts")
    app = test_app(work)
    water = make_provider(app, name="ГУП «Водоканал»")
    now = app.now()
    # Big sums spread over two months: «22 399 …» was where the tiles cut.
    for n in range(45):
        day = now - timedelta(days=n)
        make_payment(app, provider_id=water, amount=49_777_000 + n, commission=12_345,
                     created_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
                     events=False)
    with app.uow() as uow:
        rollups.rebuild(uow.session)
        uow.commit()
    manager = make_staff(app, StaffRole.MANAGER)
    with streamlit_server(app, work) as base:
        yield {"base": base, "manager": manager}
    app.engine.dispose()


def _open(browser, base: str, login_name: str, path: str, title: str):  # type: ignore[no-untyped-def]
    """A deep link, then the login form (the page asked for opens after it)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(base + path)
    page.get_by_label("Логин").fill(login_name)
    page.get_by_label("Пароль", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page_shown(page, title)
    return context, page


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def test_analytics_tiles_whole_and_axes_in_russian(prepared, browser):
    context, page = _open(browser, str(prepared["base"]), prepared["manager"].login,
                          "/analytics", "Аналитика")
    sync_api.expect(page.locator('[data-testid="stPlotlyChart"] .xtick text').first) \
        .to_be_visible()
    _shot(page, "analytics_1280.png")
    if SHOTS:
        plots = page.locator('[data-testid="stPlotlyChart"]')
        for n in range(plots.count()):
            plots.nth(n).scroll_into_view_if_needed()
            plots.nth(n).screenshot(path=str(Path(SHOTS) / f"chart_{n}.png"))
    assert page.evaluate(_CUT_TILES) == []
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert any(re.fullmatch(r"\d{1,3}(\s\d{3})+,\d\d\s₽", v.strip()) for v in values), values
    ticks = page.evaluate(_TICKS)
    assert ticks, "no axis ticks drawn"
    assert not [t for t in ticks if re.search(r"[A-Za-z]", t.replace("₽", ""))], ticks
    assert any(re.search(r"\d\s(янв|фев|мар|апр|мая|июн|июл|авг|сен|окт|ноя|дек)", t)
               for t in ticks), ticks
    assert any(re.fullmatch(r"\d{1,3}(\s\d{3})+\s₽", t) for t in ticks), ticks
    # plotly.js took the ru locale of dashboard/charts.CONFIG: its modebar speaks Russian.
    page.locator('[data-testid="stPlotlyChart"]').first.hover()
    titles = page.locator('[data-testid="stPlotlyChart"] .modebar-btn').evaluate_all(
        "buttons => buttons.map(b => b.getAttribute('data-title'))")
    assert "Скачать как PNG" in titles, titles
    # Streamlit's own «Fullscreen» button is added by its frontend, in English.
    assert not [t for t in titles if t != "Fullscreen"
                and re.search(r"[A-Za-z]{3}", t.replace("PNG", ""))], titles
    context.close()


_SHOWN_WORDS = """() => {
    const zone = document.querySelector('[data-testid="stFileUploaderDropzone"]');
    const shown = [];
    const walk = (el) => {
        const style = getComputedStyle(el);
        if (style.display === 'none' || style.visibility === 'hidden') return;
        for (const pseudo of ['::before', '::after']) {
            const content = getComputedStyle(el, pseudo).content;
            if (content && content !== 'none' && content !== 'normal'
                    && parseFloat(getComputedStyle(el, pseudo).fontSize) > 0)
                shown.push(content.replace(/^"|"$/g, ''));
        }
        for (const node of el.childNodes) {
            if (node.nodeType === Node.TEXT_NODE && node.textContent.trim()
                    && parseFloat(style.fontSize) > 0)
                shown.push(node.textContent.trim());
            else if (node.nodeType === Node.ELEMENT_NODE) walk(node);
        }
    };
    walk(zone);
    return shown;
}"""


def test_the_uploader_speaks_russian(browser, tmp_path):  # type: ignore[no-untyped-def]
    """What a person can read in the drop zone: text drawn at a size above zero."""
    app = test_app(tmp_path)
    try:
        with streamlit_server(app, tmp_path, script=UPLOADER_PAGE) as base:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT)
            page.goto(base)
            zone = page.locator('[data-testid="stFileUploaderDropzone"]')
            sync_api.expect(zone).to_be_visible()
            page.wait_for_timeout(500)
            if SHOTS:
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                zone.screenshot(path=str(Path(SHOTS) / "uploader.png"))
            seen = page.evaluate(_SHOWN_WORDS)
            context.close()
    finally:
        app.engine.dispose()
    words = " ".join(seen)
    assert "Выбрать файл" in words, seen
    assert "CSV или XLSX, до 100\u00a0МБ" in words, seen
    assert not re.search(r"Upload|per file|Drag|Browse|MB", words), seen
