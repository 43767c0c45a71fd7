"""«Оплата»: step 1, «Детализация начислений» of the invoice «Оплатить» opened, with the sum,
the commission and the total. The card, the check of the details, the one-time password and
the result page are the next steps of issue 13 (point 2): the page says so."""
from __future__ import annotations

import streamlit as st

from cabinet.widgets import breakdown, get_app, guard, rub, show_error, plain

from core import customer_api as api

PAYING = "cab_pay_invoice"

token = guard()
app = get_app()
st.title("Оплата")
invoice_id = st.session_state.get(PAYING)
if invoice_id is None:
    st.info("Выберите счёт в разделе «Счета к оплате» и нажмите «Оплатить».")
    st.page_link("views/invoices.py", label="Счета к оплате", icon=":material/receipt_long:")
    st.stop()
try:
    quote = api.quote_invoice(app, token, int(invoice_id))
except api.DomainError as error:
    st.session_state.pop(PAYING, None)
    show_error(error)
    st.stop()
st.subheader("Детализация начислений")
st.markdown(f"{plain(quote.provider_name)}, лицевой счёт {plain(quote.account_number)}")
breakdown(quote.lines)
st.markdown(f"Сумма: {rub(quote.amount.kopecks)}  \nКомиссия: {rub(quote.commission.kopecks)}  \n"
            f"**Итого к списанию: {rub(quote.total.kopecks)}**")
st.info("Оплата картой (новой или привязанной, с одноразовым паролем из SMS) появится здесь в "
        "следующей версии кабинета.")
if st.button("Назад", key="cab_pay_back"):
    st.session_state.pop(PAYING, None)
    st.switch_page("views/invoices.py")
