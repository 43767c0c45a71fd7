"""Our own CSS over two Streamlit widgets whose words or sizes Streamlit gives no
parameter for: KPI tiles (``st.metric``) and the file uploader.

Sent with ``st.html`` of style tags only, which Streamlit puts in its event container
(no space taken on the page, no HTML of ours in the page's flow). The CSS is built from
constants and numbers only, never from what a person typed. It hooks on the
``data-testid`` attributes of the pinned Streamlit (1.67) and the ``st-key-<key>`` class
of a keyed widget; tests/dashboard/test_charts_and_tiles.py checks that the bundle still
has them and tests/browser/test_charts_in_russian.py that Chromium draws the result.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import streamlit as st

# As Streamlit's own print rule for a metric's value (font fitted to the tile's width);
# our values are digits and no-break spaces, about half the font's size each (0.6 in theirs).
_CHAR_WIDTH = 0.5


def fit_metrics(values: Iterable[str]) -> None:
    """No «…» in a KPI tile: st.metric cuts its value and label to one line («22 399 …»,
    «Заблокированные ка…»). The values shrink together to what the longest needs to fit
    the tile's width (never above Streamlit's size), and labels wrap onto a second line.
    Chosen over fewer tiles per row (a million with kopecks needs ~240 px at Streamlit's
    2.25rem: two tiles a row on a 1280 px laptop) and over a tile of our own (st.metric
    keeps the delta's arrow and colour, the help and what AppTest reads)."""
    longest = max((len(v) for v in values), default=1)
    st.html(f"""<style>
[data-testid="stMetricValue"] {{ container-type: inline-size; }}
[data-testid="stMetricValue"] > * {{
  font-size: min(1em, calc(100cqi / ({longest} * {_CHAR_WIDTH})));
}}
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {{
  white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important;
}}
</style>""")


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def russian_uploader(key: str, types: Sequence[str]) -> str:
    """Streamlit 1.67 has no parameter for its uploader's English: the button «Upload»,
    «200MB per file • CSV, XLSX» under it, «Drag and drop file here» while a file is
    dragged over, errors such as «File is too large». Our CSS replaces the first two for
    the uploader of ``key``; the limit said is the one Streamlit enforces
    (``server.maxUploadSize``, .streamlit/config.toml). Returns the same words for the
    widget's help, which is ours to write."""
    limit = int(st.get_option("server.maxUploadSize"))
    words = f"{' или '.join(t.upper() for t in types)}, до {limit}\u00a0МБ"
    scope = f".st-key-{key}"
    st.html(f"""<style>
{scope} [data-testid="stFileUploaderDropzoneInstructions"] * {{ font-size: 0 !important; }}
{scope} [data-testid="stFileUploaderDropzoneInstructions"]::after {{
  content: {_css_string(words)}; font-size: 0.875rem;
}}
{scope} [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] {{
  font-size: 0 !important;
}}
{scope} [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after {{
  content: "Выбрать файл"; font-size: 0.875rem;
}}
</style>""")
    return f"Перетащите файл сюда или нажмите «Выбрать файл»: {words}."
