"""«Платежи»: the payments register with filters, a payment's card with its timeline and
refunds, the Excel export, and «Неясный результат» (payments waiting for the bank)."""
from __future__ import annotations

import streamlit as st

from core.errors import DomainError
from core.payments.machine import STATUS_LABELS, PaymentStatus
from core.payments import read_models as pv
from core.billing import providers
from dashboard.components.payment_panel import (payment_actions, payment_frame, pending_frame,
                                                render_payment)
from dashboard.widgets import (
    KEPT_ON_PAGE, card_under_lists, close_card, close_card_button, excel_export, forget_export,
    fragment, get_app, guard, linked_id, may_act, open_tab_only, page_request, pager, row_table,
    show_error,
)

CARD = "payment"  # /payments?payment=7 opens that payment's card
LIST_TABS = ["Платежи", "Неясный результат"]
LIST_TAB_KEY = "pay_list_tab"  # its value: the open tab's title

actor = guard("payments")
app = get_app()
st.title("Платежи")
known = providers.provider_names(app)
# Agents look only: the card, its timeline and the receipt, but no refund, no status
# query and no export.
acting = may_act("payments", actor)


def _open() -> None:
    selected = linked_id(CARD, "платежа")
    if selected is None:
        return
    st.divider()
    close_card_button(CARD)
    try:
        detail = pv.payment_detail(app, actor, selected)
    except DomainError as error:
        show_error(error)
        return
    render_payment(detail, payment_actions(app, actor, "pay", status_queries=acting,
                                           refunds=acting))


def _show() -> None:
    """«Показать», before the run: a new filter's first page, no card, no stale file."""
    st.session_state["pay_page"] = 1
    close_card(CARD)
    forget_export("pay")


@fragment
def _register_and_card() -> None:
    """Both lists and the open card: a row's click, the pager or «Показать» reruns this only;
    the card is drawn first, under the lists (``card_under_lists``)."""
    card_under_lists(_open, _lists)


def _lists() -> None:
    # Only the open tab is read and drawn: «Неясный результат» (a query and a table) was
    # sent again with every row click of the register, 9 KB and 55 ms in the browser.
    open_tab_only(LIST_TABS, LIST_TAB_KEY, (_register, _unknown_outcome))


def _register() -> None:
    with st.form("pay_filters"):
        c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
        date_from = c1.date_input("Период с", value=None, format="DD.MM.YYYY", key="pay_from",
                                  persist_state=KEPT_ON_PAGE)
        date_to = c2.date_input("Период по", value=None, format="DD.MM.YYYY", key="pay_to",
                                persist_state=KEPT_ON_PAGE)
        status = c3.selectbox("Статус", [None, *PaymentStatus], key="pay_status",
                              persist_state=KEPT_ON_PAGE,
                              format_func=lambda s: "Все" if s is None else STATUS_LABELS[s])
        provider_id = c4.selectbox("Поставщик", [None, *known], key="pay_provider",
                                   persist_state=KEPT_ON_PAGE,
                                   format_func=lambda k: "Все" if k is None else known[k])
        c5, c6, c7, c8 = st.columns([2, 2, 3, 2])
        amount_from = c5.text_input("Сумма от", key="pay_amount_from", persist_state=KEPT_ON_PAGE,
                                    placeholder="₽")
        amount_to = c6.text_input("Сумма до", key="pay_amount_to", persist_state=KEPT_ON_PAGE,
                                  placeholder="₽")
        card = c7.text_input("Карта", key="pay_card", persist_state=KEPT_ON_PAGE,
                             placeholder="последние 4 цифры, первые 6 или 411111******1111")
        payment_id = c8.text_input("Номер платежа", key="pay_id", persist_state=KEPT_ON_PAGE)
        st.form_submit_button("Показать", on_click=_show)
    flt = pv.PaymentFilter(date_from=date_from, date_to=date_to, status=status,
                           provider_id=provider_id, amount_from=amount_from or None,
                           amount_to=amount_to or None, card=card or None,
                           payment_id=payment_id or None)
    try:
        page = pv.list_payments(app, actor, flt, page_request("pay"))
    except DomainError as error:
        show_error(error)
        page = None
    if page is not None and page.total == 0:
        st.info("Платежей по этим условиям нет")
    elif page is not None:
        row_table("pay", payment_frame(page.items), [r.id for r in page.items], CARD)
        pager("pay", page, kept=True)
        if acting:
            excel_export("pay", "platezhi.xlsx", lambda: pv.export_payments(app, actor, flt))


def _unknown_outcome() -> None:
    st.caption("Платежи, по которым банк не ответил: списаны ли деньги, неизвестно, пока "
               "банк не подтвердит статус. Сначала — требующие разбора сотрудником.")
    pending = pv.pending_payments(app, actor, page_request("pend"))
    if pending.total == 0:
        st.info("Платежей с неясным результатом нет")
    else:
        row_table("pend", pending_frame(pending.items), [r.payment.id for r in pending.items],
                  CARD)
        pager("pend", pending, kept=True)


_register_and_card()
