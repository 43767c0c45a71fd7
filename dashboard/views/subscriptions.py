"""«Подписки и рассылки»: who subscribes to what, the outbox, the message templates.

Only the open tab is read and drawn (tabs that rerun when switched): every view once read
the subscription counts, the outbox's counts and page, and the templates, and the browser
drew all three tabs (2.4 s cold, 0.7 s warm in chromium at full scale). The counts are
the worker's rollup (``core.notifications.subscription_rollup``): kept per staff member
for a minute, they made each new session's first view count every active cabinet
(3.0 s cold in chromium at full scale)."""
from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from core.actors import StaffRole
from core.notifications.channels import Channel, MessageStatus
from core.errors import DomainError
from core.notifications import outbox, subscriptions, templates
from core.timefmt import MOSCOW, as_utc, moscow_date
from dashboard import charts
from dashboard.charts import format_count
from dashboard.widgets import (
    KEPT_ON_PAGE, ask_confirmation, confirm_dialog, fmt_dt, get_app, guard, open_tab_only,
    page_request, pager, plain, show_error,
)


@st.cache_resource(max_entries=8, show_spinner=False)
def _subscription_view(cells: tuple[tuple[str, str, int, int], ...]) -> tuple[pd.DataFrame, Any]:
    """The table and the chart of these counts, kept by the counts themselves: the
    rollup changes at most once a minute, and the same counts make the same figure for
    every staff member (building it costs a plotly figure per rerun otherwise)."""
    data = pd.DataFrame([{"Тема": topic, "Канал": channel, "Подписано": on,
                          "Всего активных": total,
                          "Доля": f"{(on / total if total else 0):.0%}"}
                         for topic, channel, on, total in cells])
    if data.empty or int(data["Всего активных"].max()) == 0:
        return data, None
    return data, charts.style(px.bar(
        data, x="Тема", y="Подписано", color="Канал", barmode="group", text="Подписано",
        labels={"Подписано": "Подписано кабинетов"},
        title="Подписки активных кабинетов по темам и каналам"))


def _as_of(counts: subscriptions.SubscriptionCounts) -> str:
    """«Данные на 14:05 (обновляются каждую минуту)»; the date too when not today's."""
    moment = as_utc(counts.computed_at).astimezone(MOSCOW)
    shown = (f"{moment:%H:%M}" if moment.date() == moscow_date(app.now())
             else f"{moment:%d.%m.%Y %H:%M}")
    return f"Данные на {shown} ({counts.refresh_note})"


def _subscriptions_tab() -> None:
    """«Подписки»: the counts the worker keeps (read, with the role check, every run)."""
    counts = subscriptions.subscription_counts(app, actor)
    data, chart = _subscription_view(tuple((c.topic_label, c.channel_label, c.subscribed,
                                            c.total) for c in counts.cells))
    st.caption(_as_of(counts))
    if chart is None:
        st.info("Активных кабинетов пока нет")
    else:
        charts.show(st, chart, "subs_chart")
        st.dataframe(data, hide_index=True)


def _outbox_tab() -> None:
    """«Исходящие сообщения»: the outbox's counts, filters and page."""
    totals = outbox.outbox_counts(app, actor)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("В очереди", format_count(totals.queued))
    m2.metric("Из них с повтором", format_count(totals.retrying))
    m3.metric("Отправлено", format_count(totals.sent))
    m4.metric("Не доставлено", format_count(totals.failed))
    with st.form("out_filters"):
        c1, c2, c3, c4, c5, c6 = st.columns(6)
        status = c1.selectbox("Статус", [None, *outbox.STATUS_LABELS],
                              placeholder="Все", key="out_status", persist_state=KEPT_ON_PAGE,
                              format_func=lambda k: "Все" if k is None
                              else outbox.STATUS_LABELS[k])
        channel = c2.selectbox("Канал", [None, Channel.SMS, Channel.EMAIL],
                               placeholder="Все", key="out_channel", persist_state=KEPT_ON_PAGE,
                               format_func=lambda k: "Все" if k is None
                               else ("SMS" if k is Channel.SMS else "E-mail"))
        topic = c3.selectbox("Тема", [None, *outbox.TOPIC_LABELS],
                             placeholder="Все", key="out_topic", persist_state=KEPT_ON_PAGE,
                             format_func=lambda k: "Все" if k is None
                             else outbox.TOPIC_LABELS[k])
        phone = c4.text_input("Телефон клиента", key="out_phone", persist_state=KEPT_ON_PAGE)
        date_from = c5.date_input("С", value=None, format="DD.MM.YYYY", key="out_from",
                                  persist_state=KEPT_ON_PAGE)
        date_to = c6.date_input("По", value=None, format="DD.MM.YYYY", key="out_to",
                                persist_state=KEPT_ON_PAGE)
        if st.form_submit_button("Показать"):
            st.session_state["out_page"] = 1
    flt = outbox.OutboxFilter(status=status, channel=channel, topic=topic,
                              customer_phone=phone or None, date_from=date_from,
                              date_to=date_to)
    try:
        page = outbox.list_outbox(app, actor, flt, page_request("out"))
    except DomainError as error:
        show_error(error)
        page = None
    if page is not None and page.total == 0:
        st.info("Сообщений по этим условиям нет")
    elif page is not None:
        st.dataframe(pd.DataFrame([{
            "№": r.id, "Создано": fmt_dt(r.created_at), "Клиент": r.customer_phone or "",
            "Канал": "SMS" if r.channel is Channel.SMS else "E-mail", "Тема": r.topic_label,
            "Получатель": r.recipient, "Текст": r.body, "Статус": r.status_label,
            "Попыток": r.attempts, "Ошибка": r.last_error or "",
            "Отправлено": fmt_dt(r.sent_at)} for r in page.items]),
            hide_index=True, width="stretch")
        pager("out", page, kept=True)
        failed = [r for r in page.items if r.status is MessageStatus.FAILED]
        if failed and actor.role in outbox.OUTBOX_ACTORS:
            options = {r.id: f"№ {r.id} · {r.recipient} · {r.last_error or ''}" for r in failed}
            chosen = st.selectbox("Недоставленное сообщение", list(options),
                                  format_func=options.__getitem__, key="out_retry_pick")
            if st.button("Повторить отправку", key="out_retry"):
                ask_confirmation("out_retry")
            confirm_dialog("out_retry", "Повторить отправку?",
                           f"Сообщение № {chosen} снова встанет в очередь.",
                           lambda _: outbox.retry_message(app, actor, int(chosen)),
                           "Сообщение поставлено в очередь")


def _templates_tab() -> None:
    """«Шаблоны»: a template's text, its preview and, for admins, saving it."""
    items = templates.list_templates(app, actor)
    keyed = {(t.topic, t.channel.value): t for t in items}
    pick = st.selectbox("Шаблон", list(keyed), key="tpl_pick", persist_state=KEPT_ON_PAGE,
                        format_func=lambda k: f"{keyed[k].topic_label} · "
                        f"{keyed[k].channel_label}"
                        + (" (стандартный)" if keyed[k].is_default else ""))
    chosen_tpl = keyed[pick]
    st.caption("Подстановки: " + ", ".join(f"{{{name}}} — {text}"
                                           for name, text in chosen_tpl.placeholders))
    is_email = chosen_tpl.channel is Channel.EMAIL
    subject = st.text_input("Тема письма", value=chosen_tpl.subject or "",
                            key=f"tpl_subject_{pick}", disabled=not is_email)
    body = st.text_area("Текст шаблона", value=chosen_tpl.body, height=200,
                        key=f"tpl_body_{pick}")
    c1, c2 = st.columns(2)
    if c1.button("Предпросмотр", key="tpl_preview"):
        try:
            shown = templates.preview_template(app, actor, pick[0], pick[1],
                                               subject if is_email else None, body)
        except DomainError as error:
            show_error(error)
        else:
            if shown.subject:
                st.markdown(f"**{plain(shown.subject)}**")
            st.text(shown.body)
            parts = f", частей SMS: {shown.sms_parts}" if shown.sms_parts else ""
            st.caption(f"Символов: {shown.length}{parts}")
    if actor.role is StaffRole.ADMIN:
        if c2.button("Сохранить шаблон", key="tpl_save"):
            ask_confirmation("tpl_save")
        confirm_dialog("tpl_save", "Сохранить шаблон?",
                       f"Новые сообщения «{chosen_tpl.topic_label}» по каналу "
                       f"{chosen_tpl.channel_label} пойдут с этим текстом.",
                       lambda _: templates.save_template(app, actor, pick[0], pick[1],
                                                         subject if is_email else None,
                                                         body),
                       "Шаблон сохранён")


actor = guard("subscriptions")
app = get_app()
st.title("Подписки и рассылки")
sees_outbox = actor.role in outbox.OUTBOX_VIEWERS
tab_names = ["Подписки"] + (["Исходящие сообщения", "Шаблоны"] if sees_outbox else [])
open_tab_only(tab_names, "subs_tab",
              (_subscriptions_tab, _outbox_tab, _templates_tab)[:len(tab_names)])
