"""How payment lists, a payment's card and saved cards look, on every page that shows them
(«Платежи» and the customer card)."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.actors import StaffActor
from core.app import App
from core.errors import DomainError
from core.money import Money, format_kopecks
from core.payments.cards import brand_label
from core.payments.machine import CHARGED, UNDECIDED, status_label, values
from core.payments.read_models import PaymentDetail, PaymentRow, PendingRow
from core.payments.saved_cards import CardView
from core.timefmt import format_datetime_msk
from core.staff import permissions
from dashboard.components.raw_records import raw_records
from dashboard.downloads import download
from dashboard.widgets import (
    ask_confirmation, confirm_dialog, flash, plain, show_error,
)

# Who may ask the bank about a payment (core.payments.recovery.ASKERS).
STATUS_ASKERS = permissions.MONEY_MOVERS
REFUNDERS = permissions.MONEY_MOVERS


def card_text(brand: str | None, masked_pan: str | None) -> str:
    return f"{brand_label(brand)} {masked_pan}".strip() if masked_pan else "—"


def _row_dict(r: PaymentRow, *, with_payer: bool) -> dict[str, object]:
    return {
        "№": r.id, "Создан": format_datetime_msk(r.created_at), "Статус": r.status_label,
        "Поставщик": r.provider_name, "Лицевой счёт": r.account_number,
        "Сумма": format_kopecks(r.amount), "Комиссия": format_kopecks(r.commission),
        "Возвращено": format_kopecks(r.refunded_amount) if r.refunded_amount else "",
        "Карта": card_text(r.card_brand, r.masked_pan),
        **({"Плательщик": r.payer or "—"} if with_payer else {}),
        "RRN": r.rrn or "",
    }


def payment_frame(rows: list[PaymentRow], *, with_payer: bool = True) -> pd.DataFrame:
    return pd.DataFrame([_row_dict(r, with_payer=with_payer) for r in rows])


def pending_frame(rows: list[PendingRow], *, with_payer: bool = True) -> pd.DataFrame:
    return pd.DataFrame([{
        **_row_dict(r.payment, with_payer=with_payer),
        "Запросов в банк": r.check_attempts,
        "Следующий запрос": format_datetime_msk(r.next_check_at),
        "Нужен разбор": "да" if r.manual_review else "",
    } for r in rows])


def render_payment(detail: PaymentDetail,
                   actions: Callable[[PaymentDetail], None] | None = None) -> None:
    """A payment's card: amounts, card, status, the event timeline and the refunds;
    ``actions`` draws the action area (refund, status query, receipt) when given."""
    p = detail.payment
    st.subheader(f"Платёж № {p.id}: {Money(p.amount)}")
    if detail.is_unknown_outcome:
        st.warning("Результат платежа неизвестен: списаны ли деньги, скажет только банк "
                   f"(запросов в банк: {detail.check_attempts}, следующий: "
                   f"{format_datetime_msk(detail.next_check_at)})"
                   + (". Нужен разбор сотрудником" if detail.manual_review else ""))
    invoice = (f"счёт за {detail.invoice.period_label} (№ {detail.invoice.id})"
               if detail.invoice else "произвольный платёж")
    st.markdown(
        f"Статус: **{p.status_label}** · создан {format_datetime_msk(p.created_at)}"
        + (f" · завершён {format_datetime_msk(detail.finalized_at)}" if detail.finalized_at
           else "") + "  \n"
        f"{plain(p.provider_name)} · лицевой счёт {plain(p.account_number)} · {invoice}  \n"
        f"Сумма {Money(p.amount)} · комиссия {Money(p.commission)} · "
        f"итого списано {Money(p.total)}"
        + (f" · возвращено {Money(p.refunded_amount)}" if p.refunded_amount else "") + "  \n"
        f"Карта: {card_text(p.card_brand, p.masked_pan)}"
        + (f" · RRN {p.rrn}" if p.rrn else "")
        + (f" · код авторизации {detail.auth_code}" if detail.auth_code else "")
        + (f"  \nПлательщик: {plain(p.payer)}" if p.payer else ""))
    if detail.decline_reason:
        st.error(f"Причина отказа: {plain(detail.decline_reason)}")
    st.markdown("**Хронология**")
    if detail.events:
        st.dataframe(pd.DataFrame([{
            "Время": format_datetime_msk(e.at), "Событие": e.label,
            "Статус": (f"{e.from_label} → {e.to_label}" if e.from_label and
                       e.from_status != e.to_status else e.to_label),
            "Кто": e.actor, "Подробности": e.sentence,
        } for e in detail.events]), hide_index=True, width="stretch")
        raw_records(f"pay_events_{p.id}", {
            f"{n}. {format_datetime_msk(e.at)} · {e.label}": {
                "event": e.event, "from_status": e.from_status, "to_status": e.to_status,
                "details": e.details} for n, e in enumerate(detail.events, start=1)})
    else:
        st.caption("Событий нет")
    st.markdown("**Возвраты**")
    if detail.refunds:
        st.dataframe(pd.DataFrame([{
            "Создан": format_datetime_msk(r.created_at), "Сумма": format_kopecks(r.amount),
            "Статус": r.status_label, "Причина": r.reason, "Оформил": r.requested_by or "—",
            "Подтвердил": r.approved_by or "", "Выполнен": format_datetime_msk(r.completed_at)
            if r.completed_at else "",
        } for r in detail.refunds]), hide_index=True, width="stretch")
    else:
        st.caption("Возвратов не было")
    if detail.can_refund:
        st.caption(f"Можно вернуть до {Money(detail.refundable_amount)}")
    if actions is not None:
        actions(detail)


def cards_table(cards: list[CardView]) -> None:
    st.dataframe(pd.DataFrame([{
        "Карта": c.title, "Номер": c.masked_pan,
        "Срок": c.expiry_label + (" · истёк" if c.expired else ""),
        "Основная": "да" if c.is_default and c.removed_at is None else "",
        "Привязана": format_datetime_msk(c.created_at),
        "Удалена": format_datetime_msk(c.removed_at) if c.removed_at else "",
    } for c in cards]), hide_index=True, width="stretch")


# --- actions on a payment -----------------------------------------------------------------

def receipt_downloads(app: App, actor: StaffActor, detail: PaymentDetail, key: str) -> None:
    """«Квитанция»: the PDF and HTML are made when asked for, not on every rerun."""
    from core.payments import receipts

    payment_id = detail.payment.id
    store = f"{key}_receipt"
    if detail.payment.status in values(UNDECIDED):
        return
    if st.button("Подготовить квитанцию", key=f"{key}_receipt_make"):
        try:
            with st.spinner("Готовим квитанцию…"):
                st.session_state[store] = (payment_id, receipts.receipt_pdf(app, actor, payment_id),
                                           receipts.receipt_html(app, actor, payment_id))
        except DomainError as error:
            st.session_state.pop(store, None)
            show_error(error)
    ready = st.session_state.get(store)
    if ready and ready[0] == payment_id:
        left, right = st.columns(2)
        download("Скачать квитанцию (PDF)", ready[1], f"kvitanciya_{payment_id}.pdf",
                 "application/pdf", key=f"{key}_receipt_pdf", container=left)
        download("Скачать квитанцию (HTML)", ready[2].encode("utf-8"),
                 f"kvitanciya_{payment_id}.html", "text/html", key=f"{key}_receipt_html",
                 container=right)


def receipt_resend_form(app: App, actor: StaffActor, detail: PaymentDetail, key: str) -> None:
    """«Отправить квитанцию на e-mail»: to the payer's e-mail or one typed here."""
    from core.payments import receipt_resend

    payment_id = detail.payment.id
    if actor.role not in receipt_resend.SENDERS:
        return
    if detail.payment.status not in values(CHARGED):
        st.caption("Квитанции нет: платёж не оплачен, отправлять нечего")
        return
    with st.form(f"{key}_resend_{payment_id}"):
        email = st.text_input("E-mail для квитанции",
                              value=receipt_resend.default_email(app, payment_id) or "",
                              key=f"{key}_resend_email_{payment_id}",
                              help="По умолчанию e-mail плательщика; можно ввести другой")
        if st.form_submit_button("Отправить квитанцию на e-mail"):
            try:
                sent = receipt_resend.resend_receipt(app, actor, payment_id, email)
            except DomainError as error:
                show_error(error)
            else:
                flash(f"Квитанция по платежу № {payment_id} поставлена в очередь отправки "
                      f"на {sent.email}")
                st.rerun()


def status_query(app: App, actor: StaffActor, detail: PaymentDetail, key: str) -> None:
    """«Запросить статус у банка» for a payment whose outcome is unknown (finance, admin)."""
    from core.payments import recovery

    if not detail.is_unknown_outcome or actor.role not in STATUS_ASKERS:
        return
    payment_id = detail.payment.id
    action_id = f"{key}_ask_{payment_id}"
    if st.button("Запросить статус у банка", key=f"{key}_ask"):
        ask_confirmation(action_id)

    def ask(_: str) -> None:
        status = recovery.ask_gateway(app, actor, payment_id)
        flash(f"Статус платежа № {payment_id}: {status_label(status)}", "info")

    confirm_dialog(action_id, "Запросить статус у банка?",
                   f"Банк сообщит, списаны ли деньги по платежу № {payment_id}; "
                   "статус платежа изменится по его ответу. Запрос записывается в журнал.",
                   ask, "Запрос в банк выполнен")


def refund_form(app: App, actor: StaffActor, detail: PaymentDetail, key: str) -> None:
    """«Оформить возврат» (finance, admin): the amount here, the reason in the confirmation."""
    from core.payments import refunds

    if not detail.can_refund or actor.role not in REFUNDERS:
        return
    payment_id = detail.payment.id
    action_id = f"{key}_refund_{payment_id}"
    st.markdown("**Возврат**")
    amount_key = f"{key}_refund_amount_{payment_id}"
    amount = st.text_input("Сумма возврата", key=amount_key,
                           value=f"{Money(detail.refundable_amount).amount:.2f}".replace(".", ","),
                           help=f"Не больше {Money(detail.refundable_amount)}; комиссия "
                                "не возвращается")
    if st.button("Оформить возврат", key=f"{key}_refund"):
        ask_confirmation(action_id)

    def do_refund(reason: str) -> None:
        result = refunds.refund(app, actor, payment_id, amount, reason)
        if result.awaiting_approval:
            flash(f"Возврат {result.amount} по платежу № {payment_id} ждёт подтверждения "
                  "второго сотрудника финансового отдела", "info")
            return
        flash(f"Возвращено {result.amount} по платежу № {payment_id}; статус: "
              f"{status_label(result.payment_status)}", "info")

    confirm_dialog(action_id, "Оформить возврат?",
                   f"Клиенту будет возвращено {amount} ₽ по платежу № {payment_id} "
                   f"на карту {card_text(detail.payment.card_brand, detail.payment.masked_pan)}."
                   " Отменить возврат будет нельзя.",
                   do_refund, "Возврат оформлен", reason_label="Причина возврата")


def refund_approvals(app: App, actor: StaffActor, detail: PaymentDetail, key: str) -> None:
    """Four-eyes: a refund above the threshold waits for another finance user."""
    from core.payments import refunds

    if actor.role not in REFUNDERS:
        return
    for r in detail.refunds:
        if not r.awaiting_approval:
            continue
        st.markdown(f"**Возврат {Money(r.amount)} ждёт подтверждения** (оформил "
                    f"{plain(r.requested_by or '—')}; причина: {plain(r.reason)})")
        if r.requested_by_id == actor.staff_id:
            st.caption("Подтвердить или отклонить его должен другой сотрудник")
            continue
        approve_id, reject_id = f"{key}_approve_{r.id}", f"{key}_reject_{r.id}"
        left, right = st.columns(2)
        if left.button("Подтвердить возврат", key=f"{approve_id}_btn"):
            ask_confirmation(approve_id)
        if right.button("Отклонить возврат", key=f"{reject_id}_btn"):
            ask_confirmation(reject_id)
        confirm_dialog(approve_id, "Подтвердить возврат?",
                       f"Клиенту будет возвращено {Money(r.amount)} по платежу "
                       f"№ {detail.payment.id}. Отменить возврат будет нельзя.",
                       lambda _reason, rid=r.id: refunds.approve(app, actor, rid),
                       "Возврат подтверждён и отправлен в банк")
        confirm_dialog(reject_id, "Отклонить возврат?",
                       f"Возврат {Money(r.amount)} по платежу № {detail.payment.id} "
                       "не будет выполнен.",
                       lambda comment, rid=r.id: refunds.reject(app, actor, rid, comment),
                       "Возврат отклонён", reason_label="Комментарий")


def payment_actions(app: App, actor: StaffActor, key: str, *, status_queries: bool = True,
                    refunds: bool = True) -> Callable[[PaymentDetail], None]:
    """The action area under a payment's card, for ``render_payment``."""
    def draw(detail: PaymentDetail) -> None:
        if status_queries:
            status_query(app, actor, detail, key)
        if refunds:
            refund_approvals(app, actor, detail, key)
            refund_form(app, actor, detail, key)
        receipt_downloads(app, actor, detail, key)
        receipt_resend_form(app, actor, detail, key)
    return draw
