"""«Оплата» of an invoice, one step per screen as the manual has it, «Назад» always possible
before paying: 1 «Детализация начислений» -> «Далее»; 2 «Способ оплаты» (a new card, or a saved
one with only its CVV) -> «Далее»; 3 «Проверьте реквизиты» -> «Оплатить»; 4 «Одноразовый
пароль» from the SMS; 5 the result, refreshing itself while the bank decides, then «Сохранить
квитанцию» and «Распечатать».

The card typed at step 2 waits in this tab's session state until «Оплатить» hands it to the
bank, and goes then (and on «Назад», «Выйти» or the session's end): the cabinet keeps no card.
One idempotency key per invoice being paid: a repeated «Оплатить» (a double click, a lost
answer) is the same payment, never a second charge."""
from __future__ import annotations

import re
import secrets
from datetime import date

import streamlit as st
import streamlit.components.v1 as components

from cabinet import session
from cabinet.widgets import breakdown, get_app, guard, payment_outcome, plain, rub, show_error
from core import customer_api as api

PAYING = "cab_pay_invoice"  # set by «Оплатить» on «Счета к оплате»
STEP, KEY, METHOD, CARD, CVV, SAVE, PAYMENT = (
    "cab_pay_step", "cab_pay_key", "cab_pay_method", "cab_pay_card", "cab_pay_cvv",
    "cab_pay_save", "cab_pay_payment")
STEPS = ("Детализация начислений", "Способ оплаты", "Проверьте реквизиты", "Одноразовый пароль",
         "Результат")
# While the bank has not answered, the result page asks again this often (seconds).
REFRESH_SECONDS = 3
_EXPIRY = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*")

token = guard()
app = get_app()


def _go(step: int) -> None:
    st.session_state[STEP] = step
    st.rerun()


def _forget_card() -> None:
    for key in (CARD, CVV):
        st.session_state.pop(key, None)


def _reset() -> None:
    for key in (PAYING, STEP, KEY, METHOD, CARD, CVV, SAVE, PAYMENT):
        st.session_state.pop(key, None)


def _back(step: int) -> None:
    if st.button("Назад", key=f"cab_pay_back_{step}"):
        _forget_card()
        if step == 1:
            _reset()
            st.switch_page("views/invoices.py")
        _go(step - 1)


def _step_details(quote: api.PaymentQuote) -> None:
    breakdown(quote.lines)
    _amounts(quote)
    if st.button("Далее", key="cab_pay_next_1", type="primary"):
        _go(2)
    _back(1)


def _amounts(quote: api.PaymentQuote) -> None:
    st.markdown(f"Сумма: {rub(quote.amount.kopecks)}  \nКомиссия: {rub(quote.commission.kopecks)}"
                f"  \n**Итого к списанию: {rub(quote.total.kopecks)}**")


def _card_label(card: api.CardView) -> str:
    return f"{card.brand_label} {card.masked_pan}" + (" (основная)" if card.is_default else "")


def _step_method() -> None:
    cards = [c for c in api.list_cards(app, token) if not c.expired]
    by_id = {c.id: c for c in cards}
    options: list[object] = [*by_id, "new"]
    default = next((i for i, c in enumerate(cards) if c.is_default), 0)
    method = st.radio("Способ оплаты", options, index=default if cards else 0,
                      format_func=lambda o: "Новая карта" if o == "new" else _card_label(by_id[o]),
                      key="cab_pay_method_choice")
    with st.form("cab_pay_card_form"):
        if method == "new":
            number = st.text_input("Номер карты", key="cab_pay_number")
            expiry = st.text_input("Срок действия (ММ/ГГ)", key="cab_pay_expiry")
            holder = st.text_input("Имя владельца", key="cab_pay_holder")
            cvv = st.text_input("CVV", type="password", max_chars=4, key="cab_pay_new_cvv")
            save = st.checkbox("Сохранить карту", key="cab_pay_save_choice")
        else:
            st.caption("Для оплаты привязанной картой введите только CVV: код не хранится в "
                       "системе согласно требованиям безопасности.")
            cvv = st.text_input("CVV", type="password", max_chars=4, key="cab_pay_saved_cvv")
        submitted = st.form_submit_button("Далее", type="primary")
    if submitted:
        if method == "new":
            found = _EXPIRY.fullmatch(expiry or "")
            if found is None:
                st.error("Срок действия: введите месяц и год, как на карте, например 09/28")
                return
            try:  # checked now, so a mistyped card is said on this step (the bank checks again)
                card = api.CardInput(number=number, exp_month=int(found[1]),
                                     exp_year=int(found[2]), cvv=cvv, holder=holder)
                card.validate(date.today())
            except api.DomainError as error:
                show_error(error)
                return
            st.session_state[CARD] = card
            st.session_state[SAVE] = save
        elif not re.fullmatch(r"\d{3,4}", (cvv or "").strip()):
            st.error("CVV: 3 или 4 цифры с оборота карты")
            return
        else:
            st.session_state[CVV] = cvv.strip()
        st.session_state[METHOD] = method
        _go(3)
    _back(2)


def _step_check(quote: api.PaymentQuote) -> None:
    method = st.session_state.get(METHOD)
    if method == "new" and CARD in st.session_state:
        card_text = st.session_state[CARD].masked
    elif method not in (None, "new") and CVV in st.session_state:
        card = next((c for c in api.list_cards(app, token) if c.id == method), None)
        card_text = _card_label(card) if card else "—"
    else:
        _go(2)  # the card is asked again (e.g. after «Назад»)
        return
    st.markdown(f"Поставщик услуг: {plain(quote.provider_name)}  \n"
                f"Лицевой счёт: {plain(quote.account_number)}  \nКарта: {plain(card_text)}")
    _amounts(quote)
    if st.button("Оплатить", key="cab_pay_pay", type="primary", disabled=session.viewing()):
        _pay(quote, method)
    _back(3)


def _pay(quote: api.PaymentQuote, method: object) -> None:
    key = st.session_state.setdefault(KEY, f"cab-{secrets.token_hex(12)}")
    try:
        view = api.start_invoice_payment(app, token, int(quote.invoice_id or 0),
                                         idempotency_key=key)
        if view.status is api.PaymentStatus.CREATED:
            if method == "new":
                view = api.pay_with_new_card(app, token, view.id, st.session_state[CARD],
                                             save_card=bool(st.session_state.get(SAVE)))
            else:
                view = api.pay_with_saved_card(app, token, view.id, int(str(method)),
                                               cvv=st.session_state[CVV])
    except api.DomainError as error:
        show_error(error)
        return
    _forget_card()  # handed to the bank: nothing of the card stays here
    st.session_state[PAYMENT] = view.id
    _go(4 if view.awaiting_otp else 5)


def _step_otp() -> None:
    view = api.payment_status(app, token, int(st.session_state[PAYMENT]))
    if not view.awaiting_otp:
        _go(5)
    st.subheader("Одноразовый пароль")
    st.caption(f"Одноразовый пароль отправлен в SMS"
               + (f" ({plain(view.otp_sent_to)})" if view.otp_sent_to else ""))
    with st.form("cab_pay_otp"):
        code = st.text_input("Одноразовый пароль", max_chars=6, key="cab_pay_otp_code")
        submitted = st.form_submit_button("Подтвердить", type="primary",
                                          disabled=session.viewing())
    if submitted:
        try:
            api.confirm_payment(app, token, view.id, code)
        except api.DomainError as error:
            show_error(error)
            return
        _go(5)


@st.fragment(run_every=REFRESH_SECONDS)
def _pending(payment_id: int) -> None:
    view = api.payment_status(app, token, payment_id)
    if view.in_progress:
        st.info("Платёж обрабатывается: страница обновится сама, когда банк ответит.")
    else:
        st.rerun()  # the whole page: the result and its receipt


def _step_result() -> None:
    payment_id = int(st.session_state[PAYMENT])
    view = api.payment_status(app, token, payment_id)
    if view.in_progress:
        _pending(payment_id)
        return
    if view.awaiting_otp:
        _go(4)
    payment_outcome(view)
    st.markdown(f"Платёж № {view.id} · {view.status_label} · карта {plain(view.masked_pan or '—')}")
    try:
        pdf = api.receipt_pdf(app, token, view.id)
    except api.DomainError as error:
        st.caption(plain(error))
    else:
        st.download_button("Сохранить квитанцию", pdf, file_name=f"kvitanciya-{view.id}.pdf",
                           mime="application/pdf", key="cab_pay_receipt")
        components.html("<button onclick='window.parent.print()' style='padding:6px 14px'>"
                        "Распечатать</button>", height=48)
    if st.button("К счетам", key="cab_pay_done"):
        _reset()
        st.switch_page("views/invoices.py")


st.title("Оплата")
invoice_id = st.session_state.get(PAYING)
if invoice_id is None:
    st.info("Выберите счёт в разделе «Счета к оплате» и нажмите «Оплатить».")
    st.page_link("views/invoices.py", label="Счета к оплате", icon=":material/receipt_long:")
    st.stop()
step = int(st.session_state.get(STEP, 1))
st.caption(" → ".join(f"**{n}\\. {title}**" if n == step else f"{n}\\. {title}"
                      for n, title in enumerate(STEPS, start=1)))
if step >= 4:
    {4: _step_otp, 5: _step_result}[step]()
    st.stop()
try:
    quote = api.quote_invoice(app, token, int(invoice_id))
except api.DomainError as error:
    _reset()
    show_error(error)
    st.stop()
st.subheader(STEPS[step - 1])
if step < 3:  # step 3 lists the details itself
    st.markdown(f"{plain(quote.provider_name)}, лицевой счёт {plain(quote.account_number)}")
{1: lambda: _step_details(quote), 2: _step_method, 3: lambda: _step_check(quote)}[step]()
