"""«Счета»: providers' invoices with filters, the charge breakdown, registry upload."""
from __future__ import annotations


import streamlit as st

from core.billing.invoice_rules import STATUS_LABELS
from core.errors import DomainError
from core.billing import invoices, providers
from dashboard.components.invoice_panel import invoice_frame, render_invoice
from dashboard.uploads import registry_upload
from dashboard.widgets import (
    close_card, close_card_button, excel_export, forget_export, fragment, get_app, guard,
    linked_id, page_request, pager, row_table, show_error,
)

CARD = "invoice"  # /invoices?invoice=7 opens that invoice's charges

actor = guard("invoices")
app = get_app()
st.title("Счета")
known = providers.provider_names(app)
can_import = actor.role in invoices.IMPORTERS
tabs = st.tabs(["Счета", "Загрузка реестра начислений"] if can_import else ["Счета"])


@fragment
def _list_and_card() -> None:
    """The list and the open invoice: a row's click, the pager or «Показать» reruns this only."""
    with st.form("inv_filters"):
        c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 2, 2])
        provider_id = c1.selectbox("Поставщик", [None, *known],
                                   placeholder="Все", key="inv_provider",
                                   format_func=lambda k: "Все" if k is None else known[k])
        period_from = c2.date_input("Период с", value=None, format="DD.MM.YYYY", key="inv_from")
        period_to = c3.date_input("Период по", value=None, format="DD.MM.YYYY", key="inv_to")
        status = c4.selectbox("Статус", [None, *STATUS_LABELS], placeholder="Все", key="inv_status",
                              format_func=lambda k: "Все" if k is None else STATUS_LABELS[k])
        account = c5.text_input("Лицевой счёт", key="inv_account")
        overdue = st.checkbox("Только просроченные", key="inv_overdue")
        if st.form_submit_button("Показать"):
            st.session_state["inv_page"] = 1
            close_card(CARD)
            forget_export("inv")
    flt = invoices.InvoiceFilter(provider_id=provider_id, period_from=period_from,
                                 period_to=period_to, status=status,
                                 account_number=account or None, overdue_only=overdue)
    try:
        page = invoices.list_invoices(app, actor, flt, page_request("inv"))
    except DomainError as error:
        show_error(error)
        st.stop()
    if page.total == 0:
        st.info("Счетов по этим условиям нет")
    else:
        row_table("inv", invoice_frame(page.items), [row.id for row in page.items], CARD)
        pager("inv", page)
        excel_export("inv", "scheta.xlsx", lambda: invoices.export_invoices(app, actor, flt))
    selected = linked_id(CARD, "счёта")
    if selected is not None:
        st.divider()
        close_card_button(CARD)
        try:
            render_invoice(invoices.invoice_detail(app, actor, selected))
        except DomainError as error:
            show_error(error)


with tabs[0]:
    _list_and_card()

if can_import:
    with tabs[1]:
        st.caption("Реестр начислений поставщика: одна строка — одно начисление (лицевой счёт, "
                   "период, услуга, ед. изм., объём, тариф, начислено, перерасчёт, долг/аванс, "
                   "итого, срок оплаты). CSV в UTF-8 или cp1251 с «;» или «,», или XLSX. "
                   "Файл загружается целиком или не загружается вовсе.")
        if known:
            registry_upload("invreg", known,
                            lambda pid, name, data, progress: invoices.import_billing_registry(
                                app, actor, pid, name, data, progress),
                            label="Реестр начислений (CSV или XLSX)")
        else:
            st.info("Сначала добавьте поставщика на странице «Лицевые счета»")
