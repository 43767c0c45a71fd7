"""The customer card: header with status, tabs, and the agent's actions."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actors import StaffActor, StaffRole
from core.app import App
from core.customers.rules import CabinetStatus
from core.errors import DomainError
from core.billing import accounts, invoices
from core.payments import read_models, saved_cards
from core.notifications import subscriptions
from core.customers import cabinet_view
from core.customers import contact_center as cc
from dashboard.components.invoice_panel import invoice_frame, render_invoice
from dashboard.components.raw_records import raw_records
from dashboard.components.payment_panel import (cards_table, payment_actions, payment_frame,
                                                render_payment)
from dashboard.widgets import (
    ask_confirmation, confirm_dialog, fmt_date, fmt_dt, may_act, open_tab_only, page_request,
    pager, picked_row, plain, row_table, run_action, show_error,
)

BADGE_COLORS = {CabinetStatus.ACTIVE: "green", CabinetStatus.PENDING_ACTIVATION: "orange",
                CabinetStatus.BLOCKED: "red"}
CHANNELS = {"sms": "SMS", "email": "E-mail"}
MESSAGE_STATUSES = {"queued": "В очереди", "sent": "Отправлено", "failed": "Не доставлено"}
CARD_TABS = ("Профиль", "Лицевые счета", "Счета", "Платежи", "Карты", "Подписки", "Сообщения",
             "Заметки", "История действий")
NOTES_TAB = "Заметки"  # drawn while closed too: see the card's tabs below


def render_card(app: App, actor: StaffActor, customer_id: int) -> None:
    try:
        card = cc.open_customer_card(app, actor, customer_id)
    except DomainError as error:
        show_error(error)
        return
    _header(card)
    main, side = st.columns([3, 1])
    with side:
        if may_act("customers", actor):
            _actions(app, actor, card)
        else:
            st.caption("Просмотр без права действий")
    with main:
        # Only the open tab is read and sent (a switch reruns the card): all nine cost a
        # query each and 0.4 s in the browser at every opening. A new card opens at
        # «Профиль», its tab kept per customer. «Заметки» is drawn closed too: a form
        # sends its fields only on submit, so a note being typed lives in the browser and
        # is lost once its form leaves the page (a look at «Платежи» in between); it costs
        # no query, the card holds its notes.
        drawers = (lambda: _profile(card), lambda: _accounts(app, actor, card),
                   lambda: _invoices(app, actor, card), lambda: _payments(app, actor, card),
                   lambda: _cards(app, actor, card), lambda: _subscriptions(app, actor, card),
                   lambda: _messages(card), lambda: _notes(app, actor, card),
                   lambda: _history(app, actor, card))
        open_tab_only(CARD_TABS, card_tab_key(card.id), drawers, always=NOTES_TAB)


def card_tab_key(customer_id: int) -> str:
    """The widget key of a customer's card tabs (its value: the open tab's title)."""
    return f"card_tab_{customer_id}"


def _header(card: cc.CustomerCard) -> None:
    st.subheader(plain(card.full_name) if card.full_name != "—" else "ФИО не указано")
    st.markdown(plain(f"{card.phone} · {card.email}"))
    st.badge(card.status.label, color=BADGE_COLORS[card.status])
    if card.current_block:
        b = card.current_block
        st.warning(plain(f"Заблокирован: {b.blocked_by}, {fmt_dt(b.blocked_at)}. "
                         f"Причина: {b.reason}"))


def _profile(card: cc.CustomerCard) -> None:
    # st.table renders its cells as markdown.
    st.table(pd.DataFrame({"Поле": [
        "Фамилия", "Имя", "Отчество", "Дата рождения", "Адрес", "Телефон", "E-mail",
        "Зарегистрирован", "Активирован", "Пользовательское соглашение"], "Значение": [
        card.surname or "—", card.first_name or "—", card.patronymic or "—",
        fmt_date(card.birth_date), card.address or "—", card.phone, card.email,
        fmt_dt(card.registered_at), fmt_dt(card.activated_at),
        f"версия {card.agreement_version}, принято {fmt_dt(card.agreement_accepted_at)}"]})
        .map(plain))
    if card.blocks:
        st.markdown("**Блокировки**")
        st.dataframe(pd.DataFrame([{
            "Заблокирован": fmt_dt(b.blocked_at), "Кем": b.blocked_by, "Причина": b.reason,
            "Разблокирован": fmt_dt(b.lifted_at), "Кем разблокирован": b.lifted_by or "—",
            "Основание": b.lift_reason or "—"} for b in card.blocks]), hide_index=True)


def _accounts(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    bound = accounts.customer_accounts(app, actor, card.id, include_removed=True)
    if not bound:
        st.info("Лицевые счета не привязаны")
        return
    st.dataframe(pd.DataFrame([{
        "Название": b.name, "Поставщик": b.provider_name, "Лицевой счёт": b.account_number,
        "Адрес": b.address, "Плательщик": b.payer_masked, "Привязан": fmt_dt(b.bound_at),
        "Отвязан": fmt_dt(b.removed_at) if b.removed_at else ""} for b in bound]),
        hide_index=True)


def _invoices(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    page = invoices.customer_invoices(app, actor, card.id, page_request("card_inv"))
    if page.total == 0:
        st.info("Счетов по привязанным лицевым счетам нет")
        return
    row_table("card_inv", invoice_frame(page.items, with_name=True), [r.id for r in page.items])
    pager("card_inv", page)
    chosen = picked_row("card_inv")
    if chosen is not None:
        try:
            render_invoice(invoices.invoice_detail(app, actor, chosen))
        except DomainError as error:
            show_error(error)


def _payments(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    page = read_models.customer_payments(app, actor, card.id, page_request("card_pay"))
    if page.total == 0:
        st.info("Платежей из этого кабинета не было")
        return
    row_table("card_pay", payment_frame(page.items, with_payer=False),
              [r.id for r in page.items])
    pager("card_pay", page)
    chosen = picked_row("card_pay")
    if chosen is not None:
        try:
            detail = read_models.payment_detail(app, actor, chosen)
        except DomainError as error:
            show_error(error)
            return
        # The customer may ask for a receipt over the phone; status queries and
        # refunds belong to «Платежи».
        render_payment(detail, payment_actions(app, actor, "card_pay",
                                                       status_queries=False, refunds=False))


def _cards(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    cards = saved_cards.customer_cards(app, actor, card.id, include_removed=True)
    if not cards:
        st.info("Привязанных карт нет")
        return
    cards_table(cards)
    active = {c.id: f"{c.title} ({c.masked_pan})" for c in cards if c.removed_at is None}
    if not active or not may_act("customers", actor):
        return
    chosen = st.selectbox("Карта", list(active), format_func=active.__getitem__,
                          key="card_card_pick")
    if st.button("Удалить карту", key="act_card_remove"):
        ask_confirmation("card_remove")
    confirm_dialog("card_remove", "Удалить карту?",
                   f"Карта {active.get(chosen, '')} будет отвязана от кабинета {card.phone} "
                   "по просьбе клиента. Платить ею без повторного ввода данных будет нельзя.",
                   lambda reason: saved_cards.remove_card_for_customer(
                       app, actor, card.id, int(chosen), reason),
                   "Карта удалена", reason_label="Причина")


def _subscriptions(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    matrix = subscriptions.customer_subscriptions(app, actor, card.id)
    topics = list(dict.fromkeys(c.topic for c in matrix.cells))
    labels = {c.topic: c.topic_label for c in matrix.cells}
    if not may_act("customers", actor):
        st.table(pd.DataFrame([{"Тема": labels[t], **{
            c.channel_label: "да" if c.enabled else "нет"
            for c in matrix.cells if c.topic == t}} for t in topics]))
        return
    with st.form("card_subs_form"):
        st.caption("Изменение по просьбе клиента: отметьте, что он хочет получать")
        wanted = {}
        for topic in topics:
            cols = st.columns([2, 1, 1])
            cols[0].markdown(labels[topic])
            for col, cell in zip(cols[1:], [c for c in matrix.cells if c.topic == topic]):
                wanted[(cell.topic, cell.channel)] = col.checkbox(
                    cell.channel_label, value=cell.enabled,
                    key=f"card_sub_{card.id}_{cell.topic}_{cell.channel.value}")
        reason = st.text_input("Причина изменения (обращение клиента)", key="card_subs_reason")
        if st.form_submit_button("Сохранить подписки"):
            changes = [(t, ch, on) for (t, ch), on in wanted.items()
                       if on != matrix.is_enabled(t, ch)]
            if not changes:
                st.info("Подписки не изменились")
            elif run_action(lambda: [subscriptions.set_customer_subscription(
                    app, actor, card.id, t, ch, on, reason) for t, ch, on in changes],
                    f"Подписки изменены: {len(changes)}"):
                st.rerun()


def _messages(card: cc.CustomerCard) -> None:
    if not card.messages:
        st.info("Сообщений клиенту не было")
        return
    st.dataframe(pd.DataFrame([{
        "Создано": fmt_dt(m.created_at), "Канал": CHANNELS.get(m.channel, m.channel),
        "Получатель": m.recipient, "Текст": m.body,
        "Статус": MESSAGE_STATUSES.get(m.status, m.status), "Отправлено": fmt_dt(m.sent_at),
    } for m in card.messages]), hide_index=True)


def _notes(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    st.caption("Внутренние заметки видят только сотрудники")
    with st.form("card_note_form", clear_on_submit=True):
        text = st.text_area("Новая заметка", key="card_note_text")
        if st.form_submit_button("Добавить заметку"):
            if run_action(lambda: cc.add_note(app, actor, card.id, text), "Заметка добавлена"):
                st.rerun()
    for note in card.notes:
        st.markdown(f"**{plain(note.author)}**, {fmt_dt(note.created_at)}  \n{plain(note.text)}")


def _history(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    page = cc.customer_history(app, actor, card.id, page_request("card_hist"))
    if page.total == 0:
        st.info("Действий с кабинетом пока нет")
        return
    st.dataframe(pd.DataFrame([{
        "Когда": fmt_dt(r.at), "Кто": r.actor, "Действие": r.action_label,
        "Что произошло": r.details, "Причина": r.reason or "",
        "Результат": "успешно" if r.result == "ok" else "отказ",
    } for r in page.items]), hide_index=True)
    raw_records("card_hist", {f"{fmt_dt(r.at)} · {r.action_label} · запись № {r.id}": r.raw
                              for r in page.items})
    pager("card_hist", page)


def _actions(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    st.markdown("**Действия**")
    if actor.role in cabinet_view.VIEWERS:
        _look_as_customer(app, actor, card)
    _code_word(app, actor, card)
    is_admin = actor.role is StaffRole.ADMIN
    if card.status is CabinetStatus.BLOCKED:
        allowed = card.can_unblock_by_code_word or is_admin
        if st.button("Разблокировать", key="act_unblock", disabled=not allowed,
                     help=None if allowed else "Сначала проверьте кодовое слово"):
            ask_confirmation("unblock")
        if card.can_unblock_by_code_word:
            confirm_dialog("unblock", "Разблокировать кабинет?",
                           f"Кабинет {card.phone} будет разблокирован: кодовое слово подтверждено.",
                           lambda comment: cc.unblock(app, actor, card.id, comment),
                           "Кабинет разблокирован", reason_label="Комментарий (необязательно)")
        else:
            confirm_dialog("unblock", "Разблокировать без кодового слова?",
                           "Разблокировка администратором без проверки кодового слова. "
                           "Укажите основание.",
                           lambda reason: cc.admin_unblock(app, actor, card.id, reason),
                           "Кабинет разблокирован", reason_label="Причина разблокировки")
    else:
        if st.button("Заблокировать", key="act_block"):
            ask_confirmation("block")
        confirm_dialog("block", "Заблокировать кабинет?",
                       f"Доступ клиента {card.phone} будет прекращён, сеансы завершены, "
                       "уведомления перестанут отправляться.",
                       lambda reason: cc.block(app, actor, card.id, reason),
                       "Кабинет заблокирован", reason_label="Причина блокировки")
    if card.status is CabinetStatus.PENDING_ACTIVATION:
        if st.button("Отправить код активации повторно", key="act_resend"):
            ask_confirmation("resend")
        confirm_dialog("resend", "Отправить код активации?",
                       f"Новый код будет отправлен в SMS на {card.phone}; прежний перестанет "
                       "действовать.", lambda _: cc.resend_activation_code(app, actor, card.id),
                       "Код активации отправлен")


def _look_as_customer(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    """«Смотреть как клиент»: the cabinet's own screens, read-only, in a new tab. The link
    is made on the click (each one journaled) and opens once, within minutes."""
    key = f"cabinet_view_link_{card.id}"
    if st.button("Смотреть как клиент", key="act_cabinet_view", icon=":material/visibility:",
                 help="Кабинет клиента в новой вкладке, только для чтения"):
        try:
            st.session_state[key] = cabinet_view.open_cabinet_view(app, actor, card.id)
        except DomainError as error:
            show_error(error)
    link = st.session_state.get(key)
    if link is not None and link.valid_until > app.now():
        st.link_button("Открыть кабинет клиента", link.url, type="primary",
                       icon=":material/open_in_new:")
        st.caption(f"Ссылка открывается один раз, до {fmt_dt(link.valid_until)}")


def _code_word(app: App, actor: StaffActor, card: cc.CustomerCard) -> None:
    if card.code_word_locked:
        st.error("Проверка кодового слова заблокирована после 3 неверных ответов")
        if actor.role is StaffRole.ADMIN:
            if st.button("Снять блокировку проверок", key="act_cw_unlock"):
                ask_confirmation("cw_unlock")
            confirm_dialog("cw_unlock", "Снять блокировку проверок кодового слова?",
                           "Счётчик неверных ответов будет обнулён.",
                           lambda reason: cc.clear_code_word_lock(app, actor, card.id, reason),
                           "Блокировка проверок снята", reason_label="Причина")
        return
    with st.form("code_word_form", clear_on_submit=True):
        answer = st.text_input("Кодовое слово, которое называет клиент", type="password",
                               key="code_word_answer")
        checked = st.form_submit_button("Проверить кодовое слово")
    if checked:
        try:
            result = cc.verify_code_word(app, actor, card.id, answer)
        except DomainError as error:
            show_error(error)
            return
        st.session_state["code_word_result"] = (card.id, result)
        st.rerun()
    stored = st.session_state.get("code_word_result")
    # A correct answer is shown until the unblock uses it up; a wrong one stays.
    if stored and stored[0] == card.id and (not stored[1].correct
                                            or card.can_unblock_by_code_word):
        result = stored[1]
        if result.correct:
            st.success("Верно")
        else:
            st.error(f"Неверно. Осталось попыток: {result.attempts_left}")
    else:
        st.caption(f"Осталось попыток: {card.code_word_attempts_left}")
