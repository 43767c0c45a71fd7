"""Plotly charts in Russian, for every page that draws one: ticks, hovers and the
chart's own buttons in Russian words and number formats («1 234 567 ₽», «8 ноя»).

Two layers, since neither alone is enough:
- the figure itself carries Russian text where it matters (tick labels of date axes
  written out from the buckets, money and count formats, hover labels): plotly.js by
  default writes «Nov 8, 2026» and «0,2M»; written out, the ticks read the same whatever
  the browser's plotly knows, and a test can read them in the figure;
- ``CONFIG`` hands plotly.js its ``ru`` locale (``config.locales``; Streamlit passes
  ``config`` through to Plotly.react unchanged), for what only the browser draws: the
  ticks after a zoom, the modebar's tooltips.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from streamlit.delta_generator import DeltaGenerator

SHORT_MONTHS = ("янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт",
                "ноя", "дек")  # a day's month, in the genitive: «8 мая»
MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
          "сентябрь", "октябрь", "ноябрь", "декабрь")
SHORT_MONTHS_ALONE = ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт",
                      "ноя", "дек")  # a month by itself: «май 2026»
NBSP = "\u00a0"
RUBLE = NBSP + "₽"
# plotly's «separators»: the decimal mark, then the thousands one (a no-break space).
SEPARATORS = "," + NBSP
NUMBER_FORMAT = ",.2~f"  # d3: grouped, at most two decimals, no SI suffix («0,2M»)
MAX_TICKS = 8  # date ticks on one axis: more overlap on a half-width chart

Grain = Literal["day", "week", "month"]

_RU_LOCALE: dict[str, Any] = {
    "format": {
        "days": ["воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница",
                 "суббота"],
        "shortDays": ["вс", "пн", "вт", "ср", "чт", "пт", "сб"],
        "months": [m.capitalize() for m in MONTHS],
        "shortMonths": list(SHORT_MONTHS_ALONE),
        "periods": ["AM", "PM"],
        "decimal": ",",
        "thousands": NBSP,
        "grouping": [3],
        "currency": ["", RUBLE],
        "date": "%d.%m.%Y",
        "time": "%H:%M:%S",
        "dateTime": "%d.%m.%Y %H:%M:%S",
        # plotly's own tick formats of date axes
        "year": "%Y",
        "month": "%b %Y",
        "dayMonth": "%-d %b",
        "dayMonthYear": "%-d %b %Y",
    },
    "dictionary": {
        "Autoscale": "Автомасштаб",
        "Box Select": "Выделить прямоугольником",
        "Click to enter Plot title": "Заголовок графика",
        "Compare data on hover": "Сравнить при наведении",
        "Double-click to zoom back out": "Двойной щелчок — исходный масштаб",
        "Download plot as a png": "Скачать как PNG",
        "Download plot as a PNG": "Скачать как PNG",
        "Download plot": "Скачать график",
        "Lasso Select": "Выделить лассо",
        "Pan": "Сдвиг",
        "Produced with Plotly.js": "Создано с помощью Plotly.js",
        "Reset axes": "Исходный масштаб",
        "Show closest data on hover": "Ближайшее значение при наведении",
        "Toggle Spike Lines": "Линии к осям",
        "Zoom": "Масштаб",
        "Zoom in": "Увеличить",
        "Zoom out": "Уменьшить",
    },
}
CONFIG: dict[str, Any] = {"locale": "ru", "locales": {"ru": _RU_LOCALE},
                          "displaylogo": False}


def format_count(value: int) -> str:
    """«22 399»: groups of three split by a no-break space, as Money.format does."""
    return f"{value:,}".replace(",", NBSP)


def day_label(day: date, with_year: bool = False) -> str:
    text = f"{day.day}{NBSP}{SHORT_MONTHS[day.month - 1]}"
    return f"{text}{NBSP}{day.year}" if with_year else text


def month_label(day: date) -> str:
    """«ноя 2026»: a month of a chart's axis or legend."""
    return f"{SHORT_MONTHS_ALONE[day.month - 1]}{NBSP}{day.year}"


def bucket_label(day: date, grain: Grain, with_year: bool = False) -> str:
    if grain == "month":
        return month_label(day)
    text = day_label(day, with_year)
    return f"с{NBSP}{text}" if grain == "week" else text


def date_ticks(buckets: Sequence[date], grain: Grain) -> tuple[list[date], list[str]]:
    """At most MAX_TICKS buckets, evenly spaced from the first, with their Russian labels;
    days and weeks name the year too when the buckets span more than one."""
    days = sorted(set(buckets))
    if not days:
        return [], []
    step = max(1, math.ceil(len(days) / MAX_TICKS))
    chosen = days[::step]
    with_year = days[0].year != days[-1].year
    return chosen, [bucket_label(d, grain, with_year) for d in chosen]


def _hover_in_words(fig: Any) -> None:
    """plotly express writes hovers as «label=%{y}»; a person reads «label: 1 234»."""
    for trace in fig.data:
        template = getattr(trace, "hovertemplate", None)
        if template:
            trace.hovertemplate = template.replace("=%{", ": %{")


def style(fig: Any, *, money: Literal["x", "y"] | None = None,
          dates: tuple[Sequence[date], Grain] | None = None,
          percent: Literal["x", "y"] | None = None) -> Any:
    """The one look of every chart: Russian separators, whole numbers without «k»/«M»,
    «₽» on the money axis, «%» on a rate axis, date ticks written out in Russian and the
    hover in words. ``dates`` are the x axis's buckets and their grain."""
    fig.update_layout(separators=SEPARATORS, legend_title_text="", margin=dict(t=60, b=10))
    for axis, update in (("x", fig.update_xaxes), ("y", fig.update_yaxes)):
        if dates is not None and axis == "x":
            continue
        update(tickformat=NUMBER_FORMAT, hoverformat=NUMBER_FORMAT, exponentformat="none")
        if money == axis:
            update(ticksuffix=RUBLE)
        elif percent == axis:
            update(ticksuffix=NBSP + "%")
    if dates is not None:
        buckets, grain = dates
        values, texts = date_ticks(buckets, grain)
        fig.update_xaxes(tickmode="array", tickvals=values, ticktext=texts,
                         hoverformat="%m.%Y" if grain == "month" else "%d.%m.%Y")
    _hover_in_words(fig)
    return fig


def show(where: DeltaGenerator, fig: Any, key: str) -> None:
    """``st.plotly_chart`` with the Russian locale (``where``: st, a column, a tab)."""
    where.plotly_chart(fig, key=key, config=CONFIG)
