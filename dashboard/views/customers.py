"""«Клиенты»: search, then the customer card with the contact-center actions."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import DomainError
from core.customers import contact_center
from core.customers.rules import CabinetStatus
from dashboard.components.blocked_cabinets import render_blocked_cabinets
from dashboard.components.customer_card import render_card
from dashboard.widgets import (
    card_under_lists, close_card, close_card_button, excel_export, fmt_dt, forget_export,
    fragment, get_app, guard, linked_id, page_request, pager, reset_pager, row_table,
    show_error,
)

SEARCH_LABEL = "Поиск: телефон, e-mail, ФИО, лицевой счёт или номер платежа"
CARD = "customer"  # /customers?customer=7 opens that customer's card
ALL_STATUSES = "Все"

actor = guard("customers")
app = get_app()
st.title("Клиенты")


def _find() -> None:
    """«Найти», before the run: the query searched from now on, its first page, no card."""
    status = st.session_state["cust_status_input"]
    st.session_state["cust_query"] = st.session_state["cust_query_input"]
    st.session_state["cust_status"] = None if status == ALL_STATUSES else status
    close_card(CARD)
    reset_pager("cust")
    forget_export("cust")


@fragment
def _search_and_card() -> None:
    """The search, its list and the open card: a row's click, the pager or «Найти» reruns
    this only; the card is drawn first, under the lists (``card_under_lists``)."""
    card_under_lists(_card, _lists)


def _card() -> None:
    selected = linked_id(CARD, "клиента")
    if selected is not None:
        st.divider()
        close_card_button(CARD)
        render_card(app, actor, selected)


def _lists() -> None:
    search_tab, blocked_tab = st.tabs(["Поиск", "Заблокированные кабинеты"])
    with search_tab:
        with st.form("cust_search_form"):
            st.text_input(SEARCH_LABEL, key="cust_query_input")
            # Not None for «Все»: the select box would show None as nothing chosen.
            st.selectbox(
                "Статус", [ALL_STATUSES, *CabinetStatus], key="cust_status_input",
                format_func=lambda s: s.label if isinstance(s, CabinetStatus) else s)
            st.form_submit_button("Найти", type="primary", on_click=_find)

        query, status = st.session_state.get("cust_query"), st.session_state.get("cust_status")
        if query:
            try:
                result = contact_center.search_customers(app, actor, query, page_request("cust"),
                                                         status)
            except DomainError as error:
                show_error(error)
                result = None
            if result is not None and result.total == 0:
                st.info("Клиенты не найдены. Проверьте номер телефона (хотя бы 4 цифры подряд), "
                        "e-mail, ФИО и выбранный статус.")
            elif result is not None:
                table = pd.DataFrame([{
                    "ФИО": row.full_name, "Телефон": row.phone, "E-mail": row.email,
                    "Статус": row.status.label, "Дата регистрации": fmt_dt(row.registered_at),
                } for row in result.items])
                row_table("cust", table, [row.id for row in result.items], CARD)
                pager("cust", result)
                excel_export("cust", "klienty.xlsx",
                             lambda: contact_center.export_customer_search(app, actor, query,
                                                                           status))
    with blocked_tab:
        render_blocked_cabinets(app, actor, CARD)


_search_and_card()
