"""«История операций»: every payment of the cabinet (date, provider, account, sum, status),
filtered by period and account, and the receipt of each («Сохранить квитанцию», PDF)."""
from __future__ import annotations

import streamlit as st

from cabinet.widgets import fmt_dt, get_app, guard, rub, show_error
from core import customer_api as api

token = guard()
app = get_app()
st.title("История операций")
left, middle, right = st.columns(3)
date_from = left.date_input("Период с", value=None, format="DD.MM.YYYY", key="cab_hist_from")
date_to = middle.date_input("по", value=None, format="DD.MM.YYYY", key="cab_hist_to")
accounts = sorted({b.account_number for b in api.list_bindings(app, token)})
account = right.selectbox("Лицевой счёт", ["Все", *accounts], key="cab_hist_account")
try:
    operations = api.operations_history(app, token, date_from=date_from, date_to=date_to,
                                        account_number=None if account == "Все" else account)
except api.DomainError as error:
    show_error(error)
    st.stop()
if not operations:
    st.info("Платежей за выбранный период нет.")
    st.stop()
st.caption(f"Платежей: {len(operations)}")
st.dataframe(
    [{"Дата": fmt_dt(o.created_at), "Поставщик": o.provider_name,
      "Лицевой счёт": o.account_number, "Сумма": rub(o.amount), "Комиссия": rub(o.commission),
      "Статус": o.status_label, "Карта": o.masked_pan or "—"} for o in operations],
    hide_index=True, use_container_width=True)
by_id = {o.id: o for o in operations}
picked = st.selectbox("Квитанция платежа", list(by_id), index=None, placeholder="Выберите платёж",
                      format_func=lambda i: f"№ {i} · {fmt_dt(by_id[i].created_at)} · "
                                            f"{by_id[i].provider_name} · {rub(by_id[i].total)}",
                      key="cab_hist_receipt")
if picked is not None:
    try:
        pdf = api.receipt_pdf(app, token, picked)
    except api.DomainError as error:
        show_error(error)
    else:
        st.download_button("Сохранить квитанцию", pdf, file_name=f"kvitanciya-{picked}.pdf",
                           mime="application/pdf", key="cab_hist_download")
