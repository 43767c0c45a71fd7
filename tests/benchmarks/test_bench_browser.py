"""The benchmark's browser part stays runnable (``python -m benchmarks --only browser``): at
the smallest size, one pass, every page of the navigation, the cabinet's pages, the cards,
the search and the export reach their named element, each figure has its bare baseline,
and the profile says what each view carried. The Django peer's figures are checked where
its packages (the bench extra) are installed. No timing is asserted here."""
from __future__ import annotations


import pytest

from benchmarks import browser, load
from benchmarks.common import Figure

pytestmark = pytest.mark.browser

if browser.available():
    pytest.skip(browser.available() or "", allow_module_level=True)

TINY = (300, 1500)  # customers, payments: enough for a full first page of every list


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Figure], dict]:
    work = tmp_path_factory.mktemp("bench-browser")
    saved = dict(load.SCALES)
    load.SCALES["tiny"] = TINY
    try:
        _, url = load.build(work, "tiny")
    finally:
        load.SCALES.clear()
        load.SCALES.update(saved)
    profile: dict[str, object] = {}
    figures = browser.run(url, work, "tiny", profile, passes=1)
    return figures, profile


def _names(figures: list[Figure]) -> set[str]:
    return {f.name for f in figures}


def test_every_page_and_step_reaches_its_named_element(measured) -> None:  # type: ignore[no-untyped-def]
    figures, profile = measured
    views = profile["views"]
    for key in browser.DASHBOARD_PAGES:
        for label in ("cold", "warm"):
            assert f"page {key} {label}" in views, f"«{key}» was not in the navigation"
    for key in browser.CABINET_PAGES:
        assert {f"cabinet {key} cold", f"cabinet {key} warm"} <= set(views)
    for step in ("login form first load", "login to landing", "search by phone",
                 "customer card first", "customer card tab", "payment card first",
                 "payment card next",
                 "excel export click to file", "cabinet login to landing"):
        assert step in views, step
    assert views["excel export click to file"]["file_bytes"] > 0  # the file was downloaded
    names = _names(figures)
    assert "browser: page «analytics» warm (every chart drawn)" in names
    assert "browser: script runs per login (code step to landing, settled)" in names


def test_each_figure_has_its_baseline_and_the_profile_what_the_browser_got(measured) -> None:  # type: ignore[no-untyped-def]
    figures, profile = measured
    for f in figures:
        assert f.value > 0 and f.baseline_value > 0 and f.baseline_name, f
        assert f.ratio == pytest.approx(f.value / f.baseline_value, rel=0.05)
    views = profile["views"]
    for key in browser.DASHBOARD_PAGES:
        view = views[f"page {key} warm"]
        assert view["ws_bytes"] > 0 and view["ws_messages"] > 0 and view["dom_nodes"] > 0
        assert view["script_runs"] >= 1
    assert views["page analytics warm"]["plotly_json_bytes"] > 0
    assert views["login to landing"]["script_runs"] >= 1
    assert "| «payments» |" in browser.table(profile)


def test_the_django_peer_is_timed_beside_ours(measured) -> None:  # type: ignore[no-untyped-def]
    why = browser.peer_available()
    if why:
        pytest.skip(why)
    figures, profile = measured
    peer = [f for f in figures if f.name.startswith("peer: ")]
    assert len(peer) == 2 * len(browser.PEER_PAIRS)
    assert all(f.baseline_name.startswith("Django admin") for f in peer)
    assert profile["peer"]["server"].startswith("gunicorn")
    views = profile["views"]
    assert all(views[f"django {name} warm"]["dom_nodes"] > 0
               for name in ("status provider filter", "payment number", "phone", "payment page"))
