"""«Произвольный платёж» without logging in, as the manual has it: the provider from the list,
the account number from the bill (the provider's hint), «Далее»; then «Счёт на сумму … руб.»
with the last invoice's breakdown, or «Произвольная сумма» (its commission shown); then the
card and the e-mail for the receipt, «Оплатить», the one-time password (sent to that e-mail:
the payer has no cabinet), and the result; the receipt comes by e-mail.

The payment's idempotency key is the only proof this tab may go on with it (``customer_api``'s
guest steps take it); it lives in the tab's state and goes with it."""
from __future__ import annotations

import re
import secrets
from datetime import date

import streamlit as st

from cabinet.widgets import breakdown, get_app, payment_outcome, plain, rub, rub_words, show_error
from core import customer_api as api
from core.app import App

CHOICE = "cab_guest_choice"
KEY, PAYMENT = "cab_guest_key", "cab_guest_payment"
_EXPIRY = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*")


def _pay_step(choice: api.AccountChoice, way: str, amount: str | None) -> None:
    """The card, the receipt e-mail and «Оплатить»; then the password and the result."""
    app = get_app()
    if PAYMENT in st.session_state:
        _after_card(app)
        return
    st.subheader("Оплата картой")
    with st.form("cab_guest_card"):
        email = st.text_input("E-mail для квитанции", key="cab_guest_email")
        number = st.text_input("Номер карты", key="cab_guest_card_number")
        expiry = st.text_input("Срок действия (ММ/ГГ)", key="cab_guest_expiry")
        holder = st.text_input("Имя владельца", key="cab_guest_holder")
        cvv = st.text_input("CVV", type="password", max_chars=4, key="cab_guest_cvv")
        submitted = st.form_submit_button("Оплатить", type="primary")
    if not submitted:
        return
    found = _EXPIRY.fullmatch(expiry or "")
    if found is None:
        st.error("Срок действия: введите месяц и год, как на карте, например 09/28")
        return
    key = st.session_state.setdefault(KEY, f"cab-guest-{secrets.token_hex(12)}")
    try:
        card = api.CardInput(number=number, exp_month=int(found[1]), exp_year=int(found[2]),
                             cvv=cvv, holder=holder).validate(date.today())
        view = api.start_guest_payment(app, key, choice.provider_id, choice.account_number,
                                       receipt_email=email,
                                       amount_text=None if way == "invoice" else amount,
                                       pay_last_invoice=way == "invoice")
        if view.status is api.PaymentStatus.CREATED:
            view = api.guest_pay_with_new_card(app, key, view.id, card)
    except api.DomainError as error:
        show_error(error)
        return
    st.session_state[PAYMENT] = view.id
    st.rerun()


def _after_card(app: App) -> None:
    key, payment_id = st.session_state[KEY], int(st.session_state[PAYMENT])
    view = api.guest_payment_status(app, key, payment_id)
    if view.awaiting_otp:
        st.subheader("Одноразовый пароль")
        if view.otp_sent_to:
            st.caption(f"Одноразовый пароль отправлен: {plain(view.otp_sent_to)}")
        with st.form("cab_guest_otp"):
            code = st.text_input("Одноразовый пароль", max_chars=6, key="cab_guest_otp_code")
            if st.form_submit_button("Подтвердить", type="primary"):
                try:
                    api.guest_confirm_payment(app, key, payment_id, code)
                except api.DomainError as error:
                    show_error(error)
                else:
                    st.rerun()
        return
    if view.in_progress:
        st.info("Платёж обрабатывается: нажмите «Обновить статус» через несколько секунд.")
        st.button("Обновить статус", key="cab_guest_refresh")
    else:
        payment_outcome(view, ". Квитанция придёт на e-mail.")
    if st.button("Новый платёж", key="cab_guest_new"):
        for name in [k for k in st.session_state if str(k).startswith("cab_guest_")]:
            del st.session_state[name]
        st.rerun()


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
        for name in (KEY, PAYMENT):  # another account: another payment
            st.session_state.pop(name, None)
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
    _pay_step(choice, way, st.session_state.get("cab_guest_amount") or None)
