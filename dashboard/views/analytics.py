"""«Аналитика»: KPI tiles against the previous period and the charts behind them.

Every figure comes from ``core.analytics.metrics`` (daily rollups and SQL aggregates),
read once per filter and kept for a few minutes; «Обновить» reads afresh.

The charts sit on four tabs, two each, and only the open tab's are read, built and sent: at
full scale (200,000 cabinets, 1,000,000 payments) the whole report took 1.25 s (the
subscriptions alone 0.6 s, the funnel 0.2 s) and its eight plotly figures 1.0 s before the
first view, and the browser drew all eight on every view (0.77 s warm). The tabs are a
fragment: switching them reruns the tabs only, not the tiles above.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from core.actors import StaffActor, StaffRole
from core.errors import DomainError
from core.money import Money
from core.analytics import metrics
from core.timefmt import format_date, moscow_date
from dashboard import charts, look
from dashboard.charts import format_count
from dashboard.widgets import (excel_export, forget_export, get_app, guard, may_act, open_tab_only,
                               show_error)

CACHE_TTL = 300  # seconds: rollups move with every payment; five minutes is fresh enough


Key = tuple[int, str, str, date, date, tuple[int, ...], str]
PARTS = ("kpis", "series", "by_provider", "funnel", "declines", "invoices")
# Two charts a tab: plotly.js draws a chart in ~85-150 ms on the browser's main thread, one
# after another, and the first view waited for all of the open tab's (four: 760 ms warm at
# full scale, a bare st.navigation switch 175 ms in the same run).
SECTIONS = ("Платежи", "Поставщики и успешность", "Воронка и отказы", "Счета и подписки")


def _actor_and_filter(key: Key) -> tuple[StaffActor, metrics.AnalyticsFilter, str]:
    staff_id, login, role, date_from, date_to, provider_ids, grain = key
    return (StaffActor(staff_id, login, StaffRole(role)),
            metrics.AnalyticsFilter(date_from, date_to, provider_ids), grain)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Считаем показатели…")
def _part(name: str, key: Key) -> Any:
    """One part of the report for one filter: read when first drawn, kept like the rest."""
    actor, flt, grain = _actor_and_filter(key)
    app = get_app()
    if name == "kpis":
        return metrics.kpis(app, actor, flt)
    if name in ("series", "by_provider"):
        return metrics.time_series(app, actor, flt, grain, by_provider=name == "by_provider")
    if name == "funnel":
        return metrics.funnel(app, actor, flt)
    if name == "declines":
        return metrics.decline_reasons(app, actor, flt)
    return metrics.invoices_on_time(app, actor, flt)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Считаем подписки…")
def _subscriptions(staff_id: int, login: str, role: str) -> list[metrics.ChannelSubscriptions]:
    """Today's subscriptions: no filter applies, so one copy serves every filter."""
    return metrics.subscriptions_by_channel(get_app(), StaffActor(staff_id, login,
                                                                  StaffRole(role)))


def _report(key: Key) -> metrics.Report:
    """The whole report (the Excel export's): every part, from the caches where read."""
    actor, flt, grain = _actor_and_filter(key)
    parts = {name: _part(name, key) for name in PARTS}
    return metrics.Report(flt=flt, grain=grain, **parts,
                          subscriptions=_subscriptions(*key[:3]))


@st.cache_resource(ttl=CACHE_TTL, show_spinner=False)
def _charts(section: str, key: Key) -> dict[str, Any]:
    """The frames and plotly figures of one tab for one filter, built once and kept like
    the report: plotly express spends ~50 ms per figure validating its properties, which on
    every rerun (each click on the page) made the page cost half a second."""
    grain = key[-1]
    if section == SECTIONS[0]:  # also the second tab's: one build of the series' figures
        return _payment_charts(_part("kpis", key), _part("series", key),
                               _part("by_provider", key), grain)
    if section == SECTIONS[2]:
        return _funnel_charts(_part("funnel", key), _part("declines", key))
    return _invoice_charts(_part("invoices", key), _subscriptions(*key[:3]))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _providers(staff_id: int, login: str, role: str) -> list[tuple[int, str]]:
    actor = StaffActor(staff_id, login, StaffRole(role))
    return metrics.provider_choices(get_app(), actor)


def _rubles(kopecks: int) -> float:
    """For chart axes only (plotly plots numbers); every shown amount is Money-formatted."""
    return float(Decimal(kopecks) / 100)


def _percent(rate: Decimal | None) -> float | None:
    return None if rate is None else float(rate * 100)


def _tile(kind: str, value: Any) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return Money(int(value)).format()
    if kind == "rate":
        return metrics.format_rate(value)
    return format_count(int(value))


def _delta(kind: str, change: Any) -> str | None:
    if change is None:
        return None
    if kind == "rate":
        return metrics.format_rate_change(change)
    sign = "+" if change > 0 else ""
    return sign + (Money(int(change)).format() if kind == "money" else format_count(int(change)))


# Tiles on the first rows, money first; «more is worse» for blocks. Four a row: at five a
# tile of a 1280 px laptop is ~120 px wide, and the values (shrunk together to fit the
# longest, dashboard/look.py) came out at the size of the labels.
TILES = ("payments", "amount", "average_payment", "commission",
         "success_rate", "saved_card_share", "active_cabinets", "registrations",
         "activation_rate", "blocked_cabinets")
TILES_PER_ROW = 4
WORSE_WHEN_UP = {"blocked_cabinets", "new_blocks"}
BUCKET_TITLES = {"day": "День", "week": "Неделя с", "month": "Месяц"}

def _payment_charts(kpis: metrics.Kpis, points: list[metrics.SeriesPoint],
                    provider_points: list[metrics.SeriesPoint], grain: str) -> dict[str, Any]:
    bucket_title = BUCKET_TITLES[grain]
    c: dict[str, Any] = {}
    series = pd.DataFrame([{
        bucket_title: p.bucket, "Успешных платежей": p.payments,
        "Сумма, ₽": _rubles(p.amount), "Сумма": Money(p.amount).format(),
        "Попыток": p.attempts, "Успешность, %": _percent(p.success_rate),
        "Успешность": metrics.format_rate(p.success_rate)} for p in points])
    c["series"] = series
    dates = ([p.bucket for p in points], grain)
    if kpis.current.attempts:
        c["count"] = charts.style(px.bar(
            series, x=bucket_title, y="Успешных платежей",
            title=f"Количество успешных платежей {metrics.GRAINS[grain]}"), dates=dates)
        c["sum"] = charts.style(px.bar(series, x=bucket_title, y="Сумма, ₽",
                                       hover_data={"Сумма": True, "Сумма, ₽": False},
                                       title=f"Сумма платежей {metrics.GRAINS[grain]}"),
                                money="y", dates=dates)
        by_provider = pd.DataFrame([{
            bucket_title: p.bucket, "Поставщик": p.provider_name, "Сумма, ₽": _rubles(p.amount),
            "Сумма": Money(p.amount).format(), "Успешных платежей": p.payments}
            for p in provider_points])
        if not by_provider.empty:
            c["by_provider"] = charts.style(px.bar(
                by_provider, x=bucket_title, y="Сумма, ₽", color="Поставщик",
                hover_data={"Сумма": True, "Сумма, ₽": False, "Успешных платежей": True},
                title="Сумма платежей по поставщикам"), money="y", dates=dates)
        rate_chart = px.line(series, x=bucket_title, y="Успешность, %", markers=True,
                             hover_data={"Успешность": True, "Попыток": True,
                                         "Успешность, %": False},
                             title="Успешность платежей")
        rate_chart.update_yaxes(range=[0, 105])
        c["rate"] = charts.style(rate_chart, percent="y", dates=dates)
    return c


def _funnel_charts(steps: list[metrics.FunnelStep],
                   declines: list[metrics.DeclineReason]) -> dict[str, Any]:
    c: dict[str, Any] = {}
    c["funnel_table"] = funnel = pd.DataFrame([{
        "Шаг": f.label, "Кабинетов": f.customers,
        "От зарегистрированных": metrics.format_rate(f.share_of_first),
        "От предыдущего шага": metrics.format_rate(f.share_of_previous)}
        for f in steps])
    if steps[0].customers:
        c["funnel"] = charts.style(px.funnel(funnel, x="Кабинетов", y="Шаг",
                                             title="Кабинеты, зарегистрированные в периоде"))
    if declines:
        c["declines_table"] = table = pd.DataFrame([{
            "Причина": d.label, "Платежей": d.payments, "Доля": metrics.format_rate(d.share)}
            for d in declines[:10]])
        chart = px.bar(table, x="Платежей", y="Причина", orientation="h",
                       hover_data={"Доля": True}, title="Самые частые причины отказов")
        chart.update_yaxes(autorange="reversed")
        c["declines"] = charts.style(chart)
    return c


def _invoice_charts(months: list[metrics.InvoiceMonth],
                    subscriptions: list[metrics.ChannelSubscriptions]) -> dict[str, Any]:
    c: dict[str, Any] = {}
    if months:
        # Months as words on a category axis: «09.2026» was read as the number 9,2.
        rows = [{"Месяц": charts.month_label(m.period), "Итог": label,
                 "Счетов": getattr(m, klass)}
                for m in months for klass, label in metrics.INVOICE_CLASSES.items()]
        invoices = px.bar(
            pd.DataFrame(rows), x="Месяц", y="Счетов", color="Итог",
            title="Счета по месяцам начислений",
            color_discrete_map={"Оплачен в срок": "#2e7d32", "Оплачен с опозданием": "#f9a825",
                                "Не оплачен, срок прошёл": "#c62828",
                                "Ожидает оплаты": "#90a4ae"})
        invoices.update_xaxes(type="category")
        c["invoices"] = charts.style(invoices)
    if subscriptions and subscriptions[0].active_cabinets:
        subs = pd.DataFrame([{"Канал": s.channel_label, "Тема": s.topic_label,
                              "Подписано": s.subscribed, "Доля": metrics.format_rate(s.share)}
                             for s in subscriptions])
        c["subscriptions"] = charts.style(px.bar(
            subs, x="Канал", y="Подписано", color="Тема", barmode="group",
            hover_data={"Доля": True}, title="Активные кабинеты: на что подписаны"))
    return c


actor = guard("analytics")
app = get_app()
st.title("Аналитика")

today = moscow_date(app.now())
providers = dict(_providers(actor.staff_id, actor.login, actor.role.value))
with st.form("an_filters"):
    c1, c2, c3, c4 = st.columns([1, 1, 3, 1])
    date_from = c1.date_input("С", value=today - timedelta(days=29), format="DD.MM.YYYY",
                              key="an_from")
    date_to = c2.date_input("По", value=today, format="DD.MM.YYYY", key="an_to")
    provider_ids = c3.multiselect("Поставщики", list(providers), format_func=providers.get,
                                  placeholder="Все поставщики", key="an_providers")
    grain = c4.selectbox("Шаг", list(metrics.GRAINS), format_func=metrics.GRAINS.get,
                         key="an_grain")
    st.form_submit_button("Показать")
if st.button("Обновить", key="an_refresh", help="Пересчитать, не дожидаясь обновления кэша"):
    _part.clear()
    _subscriptions.clear()
    _charts.clear()
    _providers.clear()

try:
    flt = metrics.AnalyticsFilter(date_from, date_to, tuple(provider_ids))  # type: ignore[arg-type]
    key: Key = (actor.staff_id, actor.login, actor.role.value, flt.date_from, flt.date_to,
                flt.provider_ids, grain)
    k = _part("kpis", key)
except DomainError as error:
    show_error(error)
    st.stop()

# A prepared file belongs to the filter it was made for.
shown = (flt, grain)
if st.session_state.get("an_shown") != shown:
    forget_export("an")
    st.session_state["an_shown"] = shown

st.caption(f"Период {format_date(k.current.date_from)}–{format_date(k.current.date_to)} "
           f"(московское время) в сравнении с {format_date(k.previous.date_from)}–"
           f"{format_date(k.previous.date_to)}. Платежи считаются по дню создания; "
           "«Успешность» — доля успешных среди завершённых попыток.")

labels = {name: (label, unit) for name, label, unit in metrics.KPI_FIELDS}
tiles = {name: _tile(labels[name][1], k.value(name)) for name in TILES}
look.fit_metrics(tiles.values())
for row_start in range(0, len(TILES), TILES_PER_ROW):
    columns = st.columns(TILES_PER_ROW)
    for column, name in zip(columns, TILES[row_start:row_start + TILES_PER_ROW]):
        label, unit = labels[name]
        column.metric(label, tiles[name], _delta(unit, k.change(name)),
                      delta_color="inverse" if name in WORSE_WHEN_UP else "normal",
                      border=True)



def _payments_tab(figures: dict[str, Any], attempts: int, bucket_title: str) -> None:
    if attempts == 0:
        st.info("За этот период платежей нет")
        return
    left, right = st.columns(2)
    charts.show(left, figures["count"], "an_count_chart")
    charts.show(right, figures["sum"], "an_sum_chart")
    with st.expander("Данные: платежи"):
        st.dataframe(figures["series"][[bucket_title, "Попыток", "Успешных платежей", "Сумма",
                                       "Успешность"]], hide_index=True, width="stretch",
                     column_config={bucket_title: st.column_config.DateColumn(
                         format="DD.MM.YYYY")})


def _providers_tab(figures: dict[str, Any], attempts: int) -> None:
    if attempts == 0:
        st.info("За этот период платежей нет")
        return
    left, right = st.columns(2)
    if "by_provider" in figures:
        charts.show(left, figures["by_provider"], "an_provider_chart")
    charts.show(right, figures["rate"], "an_rate_chart")


def _funnel_tab(figures: dict[str, Any]) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Воронка")
        if "funnel" not in figures:
            st.info("За этот период регистраций нет")
        else:
            charts.show(st, figures["funnel"], "an_funnel_chart")
        st.dataframe(figures["funnel_table"], hide_index=True, width="stretch")
    with right:
        st.subheader("Причины отказов")
        if "declines" not in figures:
            st.info("Неуспешных платежей за этот период нет")
        else:
            charts.show(st, figures["declines"], "an_decline_chart")
            st.dataframe(figures["declines_table"], hide_index=True, width="stretch")


def _invoices_tab(figures: dict[str, Any]) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Оплата счетов в срок")
        if "invoices" not in figures:
            st.info("Счетов за месяцы этого периода нет")
        else:
            charts.show(st, figures["invoices"], "an_invoice_chart")
            st.caption("В срок — последний платёж по счёту не позже срока оплаты; "
                       "отметка клиента «оплачен» платежом не считается.")
    with right:
        st.subheader("Подписки по каналам")
        if "subscriptions" not in figures:
            st.info("Активных кабинетов пока нет")
        else:
            charts.show(st, figures["subscriptions"], "an_subs_chart")
            st.caption("Текущее состояние; период и поставщики здесь не применяются.")


@st.fragment
def _sections(key: Key, attempts: int) -> None:
    """The open tab only: read, built and drawn when opened (a tab switch reruns this)."""
    # «Поставщики и успешность» draws from the figures of the payments' section.
    open_tab_only(SECTIONS, "an_section", (
        lambda: _payments_tab(_charts(SECTIONS[0], key), attempts, BUCKET_TITLES[key[-1]]),
        lambda: _providers_tab(_charts(SECTIONS[0], key), attempts),
        lambda: _funnel_tab(_charts(SECTIONS[2], key)),
        lambda: _invoices_tab(_charts(SECTIONS[3], key))))


_sections(key, k.current.attempts)

if may_act("analytics", actor) and actor.role in metrics.EXPORTERS:
    excel_export("an", f"analytics_{flt.date_from:%Y%m%d}_{flt.date_to:%Y%m%d}.xlsx",
                 lambda: metrics.export_report(app, actor, flt, grain, data=_report(key)))
