"""What the cabinet's pages share: the app handle, the page guard, messages, formatting and
the demo's panel «Демо: SMS и письма». Pages stay thin: input -> one facade call -> render."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import streamlit as st

from cabinet import session
from core import customer_api as api
from core.app import App, build_app
from core.demo import inbox
from core.money import Money
from core.timefmt import format_date, format_datetime_msk
from webapp.text import plain

REGISTERING = "cab_registering"  # (customer id, phone, e-mail) between the form and the code


@st.cache_resource
def get_app() -> App:
    """One engine and session factory per process (it holds no user state)."""
    return build_app()


def guard() -> str:
    """Every logged-in page starts here, whatever the entry script did: the session token,
    or the page stops with the reason to log in again."""
    if session.current_customer(get_app()) is None:
        session.show_notice()
        st.warning("Войдите в личный кабинет")
        st.stop()
    show_flash()
    return session.token()


def show_error(error: Exception) -> None:
    """A domain error as a sentence; its message may quote what a person typed."""
    st.error(plain(error))


def flash(message: str, kind: str = "success") -> None:
    """A message that survives the rerun after an action."""
    st.session_state.setdefault("cab_flash", []).append((kind, message))


def show_flash() -> None:
    # One container, messages or none: what follows keeps its place on the page, else the
    # browser redraws it and «Настройки» falls back to its first tab after every action.
    box = st.container()
    for kind, message in st.session_state.pop("cab_flash", []):
        getattr(box, kind)(plain(message))


def act(action: Callable[[], object], success: str | None = None) -> bool:
    """Call one use case; its domain error is shown as a sentence, never a stack trace."""
    try:
        action()
    except api.DomainError as error:
        show_error(error)
        return False
    if success:
        flash(success)
    return True


def rub(kopecks: int) -> str:
    return Money(kopecks).format()


def rub_words(kopecks: int) -> str:
    """«1 234,56 руб.», as the manual writes a sum in a sentence."""
    return Money(kopecks).format().removesuffix("\u00a0₽") + "\u00a0руб."


def fmt_date(day: date | None) -> str:
    return format_date(day)


def fmt_dt(moment: datetime | None) -> str:
    return format_datetime_msk(moment)


@st.cache_data(ttl=60, show_spinner=False)
def _demo_mode() -> bool:
    # Checking the demo's logins costs a few password hashes: once a minute is enough.
    return inbox.demo_mode(get_app())


def demo_panel(phone: str | None, email: str | None) -> None:
    """The demo's «phone» and mailbox for this person; nothing at all outside demo mode."""
    if not (phone or email) or not _demo_mode():
        return
    with st.sidebar.container(border=True):
        st.markdown("**:orange[Демо: SMS и письма]**")
        st.caption("Только в демо-режиме: здесь видно, что отправлено на ваш телефон и "
                   "e-mail (SMS уходят в течение нескольких секунд).")
        st.button("Обновить", key="cab_demo_refresh", icon=":material/refresh:")
        messages = inbox.messages_to(get_app(), phone=phone, email=email)
        if not messages:
            st.caption("Сообщений пока нет.")
        for m in messages:
            kind = "SMS" if m.channel is api.Channel.SMS else "E-mail"
            title = f" «{m.subject}»" if m.subject else ""
            st.markdown(f"{kind} · {fmt_dt(m.sent_at)} · {plain(m.recipient)}{plain(title)}")
            st.text(m.body)


def breakdown(lines: list, total_kopecks: int | None = None) -> None:  # InvoiceLineView
    """«Детализация начислений»: service, volume, tariff, accrued, recalculation, debt, total."""
    if not lines:
        st.caption("Начислений в счёте нет.")
        return
    st.dataframe(
        [{"Услуга": line.service, "Объём": f"{line.volume.normalize():f} {line.unit}".strip(),
          "Тариф": rub(line.tariff), "Начислено": rub(line.accrued),
          "Перерасчёт": rub(line.recalculation), "Долг (+) / аванс (−)": rub(line.debt),
          "Итого": rub(line.total)} for line in lines],
        hide_index=True, use_container_width=True)
    if total_kopecks is not None:
        st.markdown(f"**Итого к оплате: {rub(total_kopecks)}**")


def payment_outcome(view: api.PaymentView, after_success: str = "") -> None:
    """The final answer of a payment, for the customer's «Оплата» and the guest's
    «Произвольный платёж» alike."""
    if view.status is api.PaymentStatus.SUCCEEDED:
        st.success(plain(f"Платёж выполнен: {rub(view.total.kopecks)}, {view.provider_name}, "
                         f"лицевой счёт {view.account_number}{after_success}"))
    else:
        reason = f": {view.decline_reason}" if view.decline_reason else ""
        st.error(plain(f"Платёж отклонён{reason}"))
