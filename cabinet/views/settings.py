"""«Настройки», the manual's sections: «Личные данные» (filled in if one wishes), «Пароль»,
«Управление счетами» («Добавить лицевой счёт с квитанции»), «Способы оплаты» («Добавить
карту» without paying, «Сделать основной», «Удалить»), «Управление
подписками» and «Блокировка личного кабинета» (what stops, who unblocks, a confirmation)."""
from __future__ import annotations

import re
from datetime import date

import streamlit as st

from cabinet import session
from cabinet.widgets import act, flash, fmt_date, fmt_dt, get_app, guard, plain, show_error
from core import customer_api as api

BLOCK_PENDING = "cab_block_pending"
CONTACT_CENTER = "8 800 100 39 00"

ADDING_CARD = "cab_card_binding"  # the binding waiting for its one-time password
_EXPIRY = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*")

token = guard()
app = get_app()
READ_ONLY = session.viewing()  # «Смотреть как клиент»: no button acts


def _add_card() -> None:
    """«Добавить карту» without paying: the bank checks the card with a 1 ₽ hold behind a
    one-time password, releases it, and the card is saved."""
    st.subheader("Добавить карту")
    binding_id = st.session_state.get(ADDING_CARD)
    if binding_id is not None:
        with st.form("cab_card_otp"):
            st.caption("Банк проверит карту: 1 ₽ будет удержан и сразу возвращён. Введите "
                       "одноразовый пароль из SMS.")
            code = st.text_input("Одноразовый пароль", max_chars=6, key="cab_card_otp_code")
            if st.form_submit_button("Подтвердить", type="primary", disabled=READ_ONLY):
                try:
                    card = api.confirm_card_binding(app, token, int(binding_id), code)
                except api.DomainError as error:
                    show_error(error)
                else:
                    st.session_state.pop(ADDING_CARD, None)
                    flash(f"Карта {card.masked_pan} добавлена")
                    st.rerun()
        if st.button("Отмена", key="cab_card_cancel"):
            st.session_state.pop(ADDING_CARD, None)
            st.rerun()
        return
    with st.form("cab_card_new", clear_on_submit=False):
        number = st.text_input("Номер карты", key="cab_card_number")
        expiry = st.text_input("Срок действия (ММ/ГГ)", key="cab_card_expiry")
        holder = st.text_input("Имя владельца", key="cab_card_holder")
        cvv = st.text_input("CVV", type="password", max_chars=4, key="cab_card_cvv")
        submitted = st.form_submit_button("Добавить карту", disabled=READ_ONLY)
    if submitted:
        found = _EXPIRY.fullmatch(expiry or "")
        if found is None:
            st.error("Срок действия: введите месяц и год, как на карте, например 09/28")
            return
        try:
            view = api.start_card_binding(app, token, api.CardInput(
                number=number, exp_month=int(found[1]), exp_year=int(found[2]), cvv=cvv,
                holder=holder))
        except api.DomainError as error:
            show_error(error)
            return
        if view.awaiting_otp:
            st.session_state[ADDING_CARD] = view.id
        else:
            reason = f": {view.decline_reason}" if view.decline_reason else ""
            flash(f"Карта не добавлена{reason}", "error")
        st.rerun()
st.title("Настройки")
(personal_tab, password_tab, accounts_tab, cards_tab, subs_tab,
 block_tab) = st.tabs(["Личные данные", "Пароль", "Управление счетами", "Способы оплаты",
                       "Управление подписками", "Блокировка личного кабинета"])

with personal_tab:
    me = api.profile(app, token)
    st.markdown(f"Телефон: {plain(me.phone)}  \nE-mail: {plain(me.email)}  \n"
                f"Зарегистрирован: {fmt_dt(me.registered_at)}  \n"
                f"Пользовательское соглашение: редакция {me.agreement_version}, принято "
                f"{fmt_dt(me.agreement_accepted_at)}")
    st.caption("Личные данные заполняются при желании.")
    p = me.personal
    with st.form("cab_profile"):
        surname = st.text_input("Фамилия", value=p.surname or "", key="cab_set_surname")
        first_name = st.text_input("Имя", value=p.first_name or "", key="cab_set_first_name")
        patronymic = st.text_input("Отчество", value=p.patronymic or "", key="cab_set_patronymic")
        birth_date = st.date_input("Дата рождения", value=p.birth_date, format="DD.MM.YYYY",
                                   min_value=date(1900, 1, 1), max_value=date.today(),
                                   key="cab_set_birth_date")
        address = st.text_input("Адрес", value=p.address or "", key="cab_set_address")
        if st.form_submit_button("Сохранить", disabled=READ_ONLY):
            data = api.PersonalData(surname=surname or None, first_name=first_name or None,
                                    patronymic=patronymic or None, birth_date=birth_date,
                                    address=address or None)
            if act(lambda: api.update_profile(app, token, data), "Личные данные сохранены"):
                st.rerun()

with password_tab:
    with st.form("cab_password"):
        old = st.text_input("Текущий пароль", type="password", key="cab_set_old_password")
        new = st.text_input("Новый пароль", type="password", key="cab_set_new_password",
                            help="Не менее 6 символов: латинские буквы и цифры")
        repeat = st.text_input("Повторите новый пароль", type="password",
                               key="cab_set_repeat_password")
        if st.form_submit_button("Изменить пароль", disabled=READ_ONLY):
            if new != repeat:
                st.error("Повторите новый пароль: пароли не совпадают")
            else:
                try:
                    new_token = api.change_password(app, token, old, new)
                except api.DomainError as error:
                    show_error(error)
                else:
                    session.replace_token(new_token)
                    st.success("Пароль изменён. Сеансы на других устройствах завершены.")

with accounts_tab:
    bindings = api.list_bindings(app, token)
    if not bindings:
        st.info("Лицевых счетов пока нет.")
    for b in bindings:
        with st.container(border=True):
            st.markdown(f"**{plain(b.name)}** · {plain(b.provider_name)}  \n"
                        f"Лицевой счёт {plain(b.account_number)}, {plain(b.address)}  \n"
                        f"Добавлен {fmt_date(b.bound_at.date())}")
            new_name = st.text_input("Название счёта", value=b.name, key=f"cab_bind_name_{b.id}")
            rename, remove = st.columns(2)
            if rename.button("Переименовать", key=f"cab_bind_rename_{b.id}", disabled=READ_ONLY):
                if act(lambda: api.rename_binding(app, token, b.id, new_name), "Счёт переименован"):
                    st.rerun()
            if remove.button("Удалить", key=f"cab_bind_remove_{b.id}", disabled=READ_ONLY):
                if act(lambda: api.unbind(app, token, b.id), "Лицевой счёт удалён"):
                    st.rerun()
    st.subheader("Добавить лицевой счёт с квитанции")
    providers = {p.id: p for p in api.providers_for_binding(app)}
    if not providers:
        st.caption("Нет поставщиков, выставляющих счета.")
    else:
        provider_id = st.selectbox("Поставщик услуг", list(providers),
                                   format_func=lambda i: providers[i].name, key="cab_bind_provider")
        chosen = providers[provider_id]
        with st.form("cab_bind"):
            number = st.text_input("Номер лицевого счёта", help=chosen.account_hint,
                                   placeholder=chosen.account_rule, key="cab_bind_number")
            st.caption(f"Номер лицевого счёта с квитанции: {chosen.account_rule}")
            name = st.text_input("Название счёта", placeholder="например, адрес квартиры",
                                 key="cab_bind_title")
            total = None
            if chosen.ownership_proof:
                total = st.text_input("Сумма последней квитанции, руб.", key="cab_bind_total",
                                      help="Поставщик просит подтвердить, что счёт ваш")
            if st.form_submit_button("Добавить", type="primary", disabled=READ_ONLY):
                if act(lambda: api.bind_account(app, token, provider_id, number, name,
                                                last_invoice_total=total),
                       "Счёт добавлен в личный кабинет"):
                    st.rerun()

with cards_tab:
    cards = api.list_cards(app, token)
    if not cards:
        st.info("Привязанных карт нет: добавьте карту ниже или сохраните её при оплате.")
    for c in cards:
        with st.container(border=True):
            st.markdown(f"**{c.brand_label}** {c.masked_pan} · до {c.exp_month:02d}/{c.exp_year}"
                        + (" · основная" if c.is_default else "")
                        + (" · срок действия истёк" if c.expired else ""))
            default, remove = st.columns(2)
            if not c.is_default and default.button("Сделать основной", key=f"cab_card_def_{c.id}",
                                                         disabled=READ_ONLY):
                if act(lambda: api.make_default_card(app, token, c.id), "Карта стала основной"):
                    st.rerun()
            if remove.button("Удалить", key=f"cab_card_remove_{c.id}", disabled=READ_ONLY):
                if act(lambda: api.remove_card(app, token, c.id), "Карта удалена"):
                    st.rerun()
    _add_card()

with subs_tab:
    matrix = api.subscriptions(app, token)
    st.caption("Выберите, какую информацию и по какому каналу вы хотите получать от сервиса.")
    for cell in matrix.cells:
        wanted = st.checkbox(f"{cell.topic_label}: {cell.channel_label}", value=cell.enabled,
                             key=f"cab_sub_{cell.topic}_{cell.channel.value}", disabled=READ_ONLY)
        if wanted != cell.enabled:
            if act(lambda: api.set_subscription(app, token, cell.topic, cell.channel,
                                                enabled=wanted), "Подписка сохранена"):
                st.rerun()

with block_tab:
    st.markdown("При необходимости вы можете заблокировать личный кабинет. В этом случае доступ "
                "к сервису будет прекращён, информация о новых счетах не будет рассылаться по "
                "e-mail и через SMS.")
    st.warning("Разблокировать личный кабинет можно только, обратившись в Контакт-центр по "
               f"бесплатному номеру {CONTACT_CENTER}.")
    reason = st.text_input("Причина блокировки", key="cab_block_reason")
    if not st.session_state.get(BLOCK_PENDING):
        if st.button("Заблокировать личный кабинет", key="cab_block", disabled=READ_ONLY):
            st.session_state[BLOCK_PENDING] = True
            st.rerun()
    else:
        st.error("Заблокировать личный кабинет? Вы выйдете из него, войти снова можно будет "
                 f"только после разблокировки через Контакт-центр ({CONTACT_CENTER}).")
        yes, no = st.columns(2)
        if yes.button("Да, заблокировать", key="cab_block_yes", type="primary"):
            try:
                api.block_own_cabinet(app, token, reason)
            except api.DomainError as error:
                st.session_state.pop(BLOCK_PENDING, None)
                show_error(error)
            else:
                session.forget("Личный кабинет заблокирован. Разблокировать его можно, "
                               "обратившись в Контакт-центр по бесплатному номеру "
                               f"{CONTACT_CENTER}")
                st.rerun()
        if no.button("Отмена", key="cab_block_no"):
            st.session_state.pop(BLOCK_PENDING, None)
            st.rerun()
