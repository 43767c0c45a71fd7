"""«Произвольный платёж» without logging in, as the manual has it: the provider from the list,
the account number from the bill (the provider's hint), «Далее»; then «Счёт на сумму … руб.»
with the last invoice's breakdown, or «Произвольная сумма» (its commission shown).

The card, the one-time password and the receipt e-mail are the next steps (issue 13, point 2):
the page says so rather than pretending to take a card."""
from __future__ import annotations

import streamlit as st

from cabinet.widgets import breakdown, get_app, rub, rub_words, show_error, plain
from core import customer_api as api

CHOICE = "cab_guest_choice"

st.title("Произвольный платёж")
app = get_app()
providers = api.payment_providers(app)
if not providers:
    st.info("Поставщиков услуг пока нет.")
    st.stop()
by_id = {p.id: p for p in providers}
with st.form("cab_guest_account"):
    provider_id = st.selectbox("Поставщик услуг", list(by_id), format_func=lambda i: by_id[i].name,
                               key="cab_guest_provider")
    chosen = by_id[provider_id]
    number = st.text_input("Номер лицевого счёта", help=chosen.account_hint or chosen.account_rule,
                           placeholder=chosen.account_rule, key="cab_guest_number")
    st.caption(f"Номер лицевого счёта: {chosen.account_rule}")
    if st.form_submit_button("Далее", type="primary"):
        try:
            st.session_state[CHOICE] = api.choose_account(app, provider_id, number)
        except api.DomainError as error:
            st.session_state.pop(CHOICE, None)
            show_error(error)

choice: api.AccountChoice | None = st.session_state.get(CHOICE)
if choice is not None:
    st.subheader(f"{plain(choice.provider_name)}, лицевой счёт {plain(choice.account_number)}")
    options = ["amount"]
    if choice.last_invoice is not None:
        options.insert(0, "invoice")
    labels = {"amount": "Произвольная сумма",
              "invoice": f"Счёт на сумму {rub_words(choice.last_invoice.amount.kopecks)}"
              if choice.last_invoice else ""}
    way = st.radio("Вариант оплаты", options, format_func=labels.__getitem__,
                   key="cab_guest_way")
    if way == "invoice" and choice.last_invoice is not None:
        quote = choice.last_invoice
        breakdown(quote.lines)
        st.markdown(f"Сумма: {rub(quote.amount.kopecks)} · комиссия: "
                    f"{rub(quote.commission.kopecks)} · **к списанию: {rub(quote.total.kopecks)}**")
    else:
        amount = st.text_input("Сумма, руб.", key="cab_guest_amount")
        if amount:
            try:
                commission = api.quote_amount(app, choice.provider_id, amount)
            except api.DomainError as error:
                show_error(error)
            else:
                st.markdown(f"Комиссия: {rub(commission.kopecks)}")
    st.info("Оплата картой с одноразовым паролем и квитанцией на e-mail появится здесь в "
            "следующей версии кабинета.")
