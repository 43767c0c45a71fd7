"""«Реестры перечислений» (finance, administrators): a day's payouts per provider, the
«Сформировать реестр» action, and the produced registries with their CSV/Excel files."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from core.errors import DomainError
from core.money import Money, format_kopecks
from core.finance import payouts
from core.billing import providers
from core.timefmt import format_date, format_datetime_msk, moscow_date
from dashboard.downloads import download
from dashboard.widgets import (
    XLSX_MIME, ask_confirmation, confirm_dialog, excel_export, forget_export, get_app,
    guard, page_request, pager, plain, show_error,
)

actor = guard("payouts")
app = get_app()
st.title("Реестры перечислений")
st.caption("К перечислению поставщику за день — его платежи, успешные в этот день (по "
           "московскому времени), минус возвраты, выполненные в этот день. Комиссия — доход "
           "агента, поставщику она не перечисляется. Реестр формируется один раз за прошедший "
           "день.")
today = moscow_date(app.now())
known = providers.provider_names(app)

make_tab, list_tab = st.tabs(["Сформировать", "Сформированные реестры"])


def _lines_table(preview: payouts.PayoutPreview) -> None:
    if not preview.lines:
        st.info("Платежей и возвратов за этот день нет")
        return
    st.dataframe(pd.DataFrame([{
        "№ платежа": line.payment_id, "Дата и время (МСК)": format_datetime_msk(line.at),
        "Лицевой счёт": line.account_number, "Сумма": format_kopecks(line.amount),
        "Комиссия": format_kopecks(line.commission) if line.operation == payouts.PAYMENT_OP
        else "", "RRN": line.rrn or "", "Операция": line.operation_label,
    } for line in preview.lines]), hide_index=True, width="stretch")
    if preview.lines_truncated:
        st.caption(f"Показаны первые {payouts.LINES_LIMIT} строк каждого вида; в файле "
                   f"реестра — все")


def _produce_action(preview: payouts.PayoutPreview) -> None:
    action_id = f"payout_{preview.provider_id}_{preview.day.isoformat()}"
    if preview.produced is not None:
        p = preview.produced
        st.success(f"Реестр № {p.id} сформирован {format_datetime_msk(p.created_at)}, "
                   f"{p.produced_by}: перечислено {Money(p.net_amount)}")
    elif preview.day >= today:
        st.caption("Реестр за этот день можно сформировать после его окончания")
    elif preview.net <= 0:
        st.caption("Перечислять нечего: возвраты не меньше платежей")
    elif st.button("Сформировать реестр", key=f"pout_make_{preview.provider_id}"):
        ask_confirmation(action_id)
    confirm_dialog(
        action_id, "Сформировать реестр перечислений",
        f"Поставщику «{preview.provider_name}» за {format_date(preview.day)} будет "
        f"перечислено {Money(preview.net)} (платежи {Money(preview.payments_total)} минус "
        f"возвраты {Money(preview.refunds_total)}). В журнал проводок будет записано "
        f"перечисление; повторно за этот день реестр сформировать нельзя.",
        lambda _reason: payouts.produce(app, actor, preview.day, preview.provider_id),
        f"Реестр перечислений поставщику «{preview.provider_name}» за "
        f"{format_date(preview.day)} сформирован: к перечислению {Money(preview.net)}")


with make_tab:
    day = st.date_input("День (МСК)", value=today - timedelta(days=1), format="DD.MM.YYYY",
                        key="pout_day")
    try:
        previews = payouts.preview(app, actor, day)
    except DomainError as error:
        show_error(error)
        previews = []
    if day is not None and not previews:
        st.info(f"За {format_date(day)} платежей и возвратов нет: перечислять нечего")
    if previews:
        st.dataframe(pd.DataFrame([{
            "Поставщик": p.provider_name, "Платежей": p.payments_count,
            "Платежи": format_kopecks(p.payments_total),
            "Возвраты": format_kopecks(p.refunds_total),
            "Комиссия агента": format_kopecks(p.commission_total),
            "К перечислению": format_kopecks(p.net),
            "Реестр": f"№ {p.produced.id}" if p.produced else "не сформирован",
        } for p in previews]), hide_index=True, width="stretch")
        for p in previews:
            with st.expander(f"{plain(p.provider_name)}: к перечислению {Money(p.net)}"):
                _produce_action(p)
                _lines_table(p)


def _file_buttons(view: payouts.PayoutView) -> None:
    """The registry's CSV and Excel: built (and the export journaled) when asked for."""
    key = f"pout_file_{view.id}"
    c1, c2 = st.columns(2)
    for column, fmt, label, mime in ((c1, "csv", "Реестр в CSV", "text/csv"),
                                     (c2, "xlsx", "Реестр в Excel", XLSX_MIME)):
        if column.button(label, key=f"{key}_{fmt}_build"):
            try:
                st.session_state[f"{key}_{fmt}"] = payouts.payout_file(app, actor, view.id, fmt)
            except DomainError as error:
                show_error(error)
        data = st.session_state.get(f"{key}_{fmt}")
        if data:
            download(f"Скачать {fmt.upper()}", data, payouts.payout_file_name(view, fmt), mime,
                     key=f"{key}_{fmt}_download", container=column)


with list_tab:
    with st.form("pout_filters"):
        c1, c2, c3 = st.columns([2, 2, 3])
        day_from = c1.date_input("Период с", value=None, format="DD.MM.YYYY", key="pout_from")
        day_to = c2.date_input("Период по", value=None, format="DD.MM.YYYY", key="pout_to")
        provider_id = c3.selectbox("Поставщик", [None, *known], key="pout_provider",
                                   format_func=lambda k: "Все" if k is None else known[k])
        if st.form_submit_button("Показать"):
            st.session_state["pout_list_page"] = 1
            forget_export("pout_list")
    try:
        page = payouts.list_payouts(app, actor, page_request("pout_list"), day_from, day_to,
                                    provider_id)
    except DomainError as error:
        show_error(error)
        page = None
    if page is not None and page.total == 0:
        st.info("Сформированных реестров по этим условиям нет")
    elif page is not None:
        st.dataframe(pd.DataFrame([{
            "№ реестра": v.id, "День": format_date(v.day), "Поставщик": v.provider_name,
            "Платежей": v.payments_count, "Платежи": format_kopecks(v.payments_total),
            "Возвраты": format_kopecks(v.refunds_total),
            "Комиссия агента": format_kopecks(v.commission_total),
            "К перечислению": format_kopecks(v.net_amount), "Сформировал": v.produced_by,
            "Когда": format_datetime_msk(v.created_at),
        } for v in page.items]), hide_index=True, width="stretch")
        pager("pout_list", page)
        excel_export("pout_list", "reestry_perechisleniy.xlsx",
                     lambda: payouts.export_payouts(app, actor, day_from, day_to, provider_id))
        choices = {v.id: v for v in page.items}
        chosen = st.selectbox(
            "Реестр", list(choices), key="pout_chosen",
            format_func=lambda k: f"№ {k} · {format_date(choices[k].day)} · "
                                  f"{choices[k].provider_name} · {Money(choices[k].net_amount)}")
        if chosen is not None:
            _file_buttons(choices[chosen])
