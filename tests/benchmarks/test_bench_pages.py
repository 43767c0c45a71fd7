"""The benchmark suite's page, search and memory parts stay runnable: on a small demo
database every page renders for an administrator, every search key finds its cabinet,
and the figures carry what ``latest.json`` promises. No timing is asserted here."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from benchmarks import pages
from benchmarks.common import Figure, bench_app, figure
from core.config import FAST_HASHING
from core.db.engine import make_engine
from core.db.migrate import upgrade

FIELDS = {"name", "value", "unit", "baseline_name", "baseline_value", "ratio", "target"}


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from core.demo.rich import seed_demo

    work = tmp_path_factory.mktemp("bench")
    url = f"sqlite:///{work / 'demo.db'}"
    upgrade(make_engine(url))
    app = bench_app(url, work, FAST_HASHING)
    seed_demo(app, customers=60, seed=3)
    app.engine.dispose()
    return url


def _check(figures: list[Figure]) -> None:
    for f in figures:
        assert set(asdict(f)) == FIELDS
        assert f.value > 0 and f.baseline_value > 0 and f.target
        assert f.ratio == pytest.approx(f.value / f.baseline_value, rel=0.05)


def test_every_page_renders_and_is_measured(demo_url: str, tmp_path: Path) -> None:
    from dashboard.access import PAGES

    figures = pages.bench_pages(demo_url, tmp_path, repeat=1)
    assert [f.name for f in figures] == [f"page «{p.key}» warm run" for p in PAGES]
    assert set(pages.MAIN_QUERY) == {p.key for p in PAGES}
    _check(figures)


def test_the_busiest_customer_card_opens_and_is_measured(demo_url: str, tmp_path: Path) -> None:
    got = pages.bench_customer_card(demo_url, tmp_path, repeat=1)
    assert got.name == "customer card open, warm run"
    _check([got])


def test_search_finds_a_cabinet_by_every_key(demo_url: str, tmp_path: Path) -> None:
    figures = pages.bench_search(demo_url, tmp_path)
    assert [f.name for f in figures] == ["search by phone", "search by e-mail",
                                         "search by account number",
                                         "search by last seven phone digits",
                                         "search by payment number"]
    _check(figures)


def test_peak_memory_of_a_process_rendering_every_page(demo_url: str, tmp_path: Path) -> None:
    got = pages.bench_memory(demo_url, tmp_path)
    _check([got])
    assert got.value > got.baseline_value  # the dashboard holds more than bare Streamlit


def test_a_figure_is_its_value_over_its_baseline() -> None:
    f = figure("x", 30.0, "ms", "raw", 10.0, "< 300 ms")
    assert (f.value, f.baseline_value, f.ratio) == (30.0, 10.0, 3.0)
