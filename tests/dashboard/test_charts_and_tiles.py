"""Issue 14, points 4 and 5: charts in Russian, whole KPI tiles, the uploader's words.

What Chromium draws is walked in tests/browser/test_charts_in_russian.py; here: the
figures and the config Streamlit sends, the CSS and its hooks in the pinned bundle."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit
from streamlit.testing.v1 import AppTest

from core.actors import StaffRole
from core.timefmt import moscow_date
from dashboard import charts
from tests.dashboard.test_analytics_page import (  # noqa: F401  (a fixture)
    _open, figures, on_every_tab,
)

NBSP = "\u00a0"
BUNDLE = Path(streamlit.__file__).parent / "static" / "static" / "js"


def _figures(at) -> dict[str, tuple[dict, dict]]:  # type: ignore[no-untyped-def]
    """Each chart's figure and plotly config, as the page sends them to the browser."""
    return {e.proto.id or str(n): (json.loads(e.proto.spec), json.loads(e.proto.config))
            for n, e in enumerate(at.get("plotly_chart"))}


def test_date_ticks_are_russian_and_few() -> None:
    days = [date(2026, 10, 20) + timedelta(days=n) for n in range(30)]
    values, texts = charts.date_ticks(days, "day")
    assert len(values) <= charts.MAX_TICKS and values[0] == days[0]
    assert texts[:2] == [f"20{NBSP}окт", f"24{NBSP}окт"]
    assert charts.date_ticks([date(2026, 5, 4)], "week")[1] == [f"с{NBSP}4{NBSP}мая"]
    assert charts.date_ticks([date(2025, 12, 1), date(2026, 1, 1)], "month")[1] == [
        f"дек{NBSP}2025", f"янв{NBSP}2026"]
    # Across a new year, days name their year.
    assert charts.date_ticks([date(2025, 12, 31), date(2026, 1, 1)], "day")[1] == [
        f"31{NBSP}дек{NBSP}2025", f"1{NBSP}янв{NBSP}2026"]


def test_style_writes_money_whole_and_hovers_in_words() -> None:
    days = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    frame = pd.DataFrame({"Месяц": days, "Сумма, ₽": [150_000.0, 2_250_000.5, 0.0]})
    fig = charts.style(px.bar(frame, x="Месяц", y="Сумма, ₽"), money="y",
                       dates=(days, "month")).to_plotly_json()
    layout = fig["layout"]
    assert layout["separators"] == "," + NBSP
    assert layout["yaxis"]["tickformat"] == ",.2~f"  # no «0,2M»
    assert layout["yaxis"]["exponentformat"] == "none"
    assert layout["yaxis"]["ticksuffix"] == NBSP + "₽"
    assert list(layout["xaxis"]["ticktext"]) == [f"сен{NBSP}2026", f"окт{NBSP}2026",
                                                 f"ноя{NBSP}2026"]
    assert layout["xaxis"]["hoverformat"] == "%m.%Y"
    assert fig["data"][0]["hovertemplate"] == "Месяц: %{x}<br>Сумма, ₽: %{y}<extra></extra>"


def test_analytics_sends_russian_figures_and_the_ru_locale(
        dash_app, logged_in, figures):  # noqa: F811  (the fixture imported above)
    at, _ = logged_in(StaffRole.MANAGER)
    _open(at)
    sent = [(json.loads(e.proto.spec), json.loads(e.proto.config)) for e in on_every_tab(at)[0]]
    assert len(sent) >= 6
    for spec, config in sent:
        assert config["locale"] == "ru"
        assert config["locales"]["ru"]["format"]["shortMonths"][10] == "ноя"
        assert spec["layout"]["separators"] == "," + NBSP
    today = moscow_date(dash_app.now())  # the page's days are Moscow's (UTC 21:00 is tomorrow)
    dated = [spec for spec, _ in sent if spec["layout"]["xaxis"].get("ticktext")]
    assert len(dated) >= 3  # count, sum, by provider, success rate
    for spec in dated:
        texts = spec["layout"]["xaxis"]["ticktext"]
        assert not [t for t in texts if re.search(r"[A-Za-z]", t)], texts
    first = charts.day_label(today - timedelta(days=29))  # the default period's first day
    assert all(spec["layout"]["xaxis"]["ticktext"][0] == first for spec in dated)
    money = [spec for spec, _ in sent if spec["layout"]["yaxis"].get("ticksuffix") ==
             NBSP + "₽"]
    assert money and all(s["layout"]["yaxis"]["tickformat"] == ",.2~f" for s in money)
    # The KPI tiles: whole values and labels, and the CSS that keeps them uncut.
    values = {m.label: m.value for m in at.metric}
    assert values["Сумма платежей"] == f"4{NBSP}000,50{NBSP}₽"
    assert "Заблокированные кабинеты" in values
    styles = [e.proto.body for e in at.get("html")]
    assert any("stMetricValue" in body and "cqi" in body for body in styles), styles


def test_invoice_months_are_words_not_numbers() -> None:
    """«09.2026» on the invoices chart was read by plotly as the number 9,2026: «9,2»."""
    assert charts.month_label(date(2026, 9, 1)) == f"сен{NBSP}2026"


def _uploader_page() -> None:
    import streamlit as st

    from dashboard import look

    hint = look.russian_uploader("rec_file", ["csv", "xlsx"])
    st.file_uploader("Реестр банка (CSV или XLSX)", type=["csv", "xlsx"], key="rec_file",
                     help=hint)


def test_the_uploader_is_explained_in_russian() -> None:
    at = AppTest.from_function(_uploader_page).run()
    assert not at.exception
    limit = streamlit.config.get_option("server.maxUploadSize")
    assert at.get("file_uploader")[0].proto.help == (
        f"Перетащите файл сюда или нажмите «Выбрать файл»: CSV или XLSX, до {limit}{NBSP}МБ.")
    css = "".join(e.proto.body for e in at.get("html"))
    assert ".st-key-rec_file" in css and '"Выбрать файл"' in css
    assert f'"CSV или XLSX, до {limit}{NBSP}МБ"' in css


def test_the_upload_limit_said_is_the_configured_one() -> None:
    config = (Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text()
    assert re.search(r"^maxUploadSize = 100$", config, re.M)


def test_the_pinned_streamlit_still_has_the_hooks_of_our_css() -> None:
    """dashboard/look.py's CSS hooks on these; a Streamlit upgrade that renames them
    would silently bring back «…» and «Upload»."""
    bundle = "".join(p.read_text(errors="ignore") for p in BUNDLE.glob("*.js"))
    for hook in ("stMetricValue", "stMetricLabel", "stFileUploaderDropzone",
                 "stFileUploaderDropzoneInstructions", "st-key-"):
        assert hook in bundle, hook
