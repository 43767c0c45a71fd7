"""«Счета к оплате»: the tab «К оплате» (each account's current invoice not yet paid, with its
«Детализация начислений», «Оплатить» and «Отметить как оплаченный») and the tab «Все» (the
invoices of past months; an account's name shows its invoices)."""
from __future__ import annotations

import streamlit as st

from cabinet import session
from cabinet.widgets import act, breakdown, fmt_date, get_app, guard, rub, plain
from core import customer_api as api

PAYING = "cab_pay_invoice"  # the invoice «Оплатить» opened on «Оплата»

token = guard()
app = get_app()
READ_ONLY = session.viewing()  # «Смотреть как клиент»: no button acts
st.title("Счета к оплате")


def _account(row: api.InvoiceRow) -> str:
    return f"{row.account_name or row.account_number} ({row.provider_name})"


def _card(row: api.InvoiceRow) -> None:
    with st.container(border=True):
        st.markdown(f"**{plain(row.provider_name)}** · "
                    f"{plain(row.account_name or row.account_number)}")
        left, right = st.columns(2)
        left.markdown(f"Лицевой счёт: {plain(row.account_number)}  \nПериод: {row.period_label}  \n"
                      f"Оплатить до: {fmt_date(row.due_date)}")
        right.markdown(f"Сумма: **{rub(row.total_due)}**  \nОплачено: {rub(row.paid_amount)}, "
                       f"осталось: {rub(row.amount_left)}  \n"
                       f"Статус: {row.status_label}" + (" (просрочен)" if row.overdue else ""))
        with st.expander("Детализация начислений"):
            try:
                detail = api.invoice_detail(app, token, row.id)
            except api.DomainError as error:
                st.error(str(error))
            else:
                breakdown(detail.lines, row.total_due)
        pay, mark = st.columns(2)
        if pay.button("Оплатить", key=f"cab_pay_{row.id}", type="primary", disabled=READ_ONLY):
            for key in [k for k in st.session_state if str(k).startswith("cab_pay_")]:
                del st.session_state[key]  # a payment begun for another invoice starts over
            st.session_state[PAYING] = row.id
            st.switch_page("views/payment.py")
        if mark.button("Отметить как оплаченный", key=f"cab_mark_{row.id}",
                       disabled=READ_ONLY):
            if act(lambda: api.mark_paid(app, token, row.id),
                   f"Счёт за {row.period_label} отмечен как оплаченный"):
                st.rerun()


to_pay_tab, all_tab = st.tabs(["К оплате", "Все"])
with to_pay_tab:
    to_pay = api.invoices_to_pay(app, token)
    if not to_pay:
        st.info("Счетов к оплате нет. Лицевые счета добавляются в разделе «Настройки» → "
                "«Управление счетами».")
    for invoice in to_pay:
        _card(invoice)

with all_tab:
    history = api.invoice_history(app, token)
    if not history:
        st.info("Выставленных счетов пока нет.")
    else:
        accounts = sorted({_account(r) for r in history})
        account = st.selectbox("Лицевой счёт", ["Все счета", *accounts], key="cab_inv_account")
        shown = [r for r in history if account == "Все счета" or _account(r) == account]
        st.caption(f"Счетов: {len(shown)}")
        st.dataframe(
            [{"Поставщик": r.provider_name, "Счёт": r.account_name or r.account_number,
              "Лицевой счёт": r.account_number, "Период": r.period_label,
              "Сумма": rub(r.total_due), "Оплатить до": fmt_date(r.due_date),
              "Статус": r.status_label} for r in shown],
            hide_index=True, use_container_width=True)
        by_id = {r.id: r for r in shown}
        picked = st.selectbox("Детализация счёта", list(by_id), index=None,
                              placeholder="Выберите счёт",
                              format_func=lambda i: f"{by_id[i].period_label} · "
                                                    f"{_account(by_id[i])} · "
                                                    f"{rub(by_id[i].total_due)}",
                              key="cab_inv_detail")
        if picked is not None:
            row = by_id[picked]
            breakdown(api.invoice_detail(app, token, row.id).lines, row.total_due)
            if row.marked_paid and st.button("Снять отметку «оплачен»", key="cab_unmark",
                                            disabled=READ_ONLY):
                if act(lambda: api.unmark_paid(app, token, row.id), "Отметка снята"):
                    st.rerun()
