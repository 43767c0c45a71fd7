"""«Лицевые счета»: providers with their rules, and their registers of accounts."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actors import StaffRole
from core.billing.account_rules import SERVICE_KINDS
from core.customers.rules import try_normalize_phone
from core.errors import DomainError
from core.paging import PageRequest
from core.billing import accounts, providers
from core.customers import contact_center
from dashboard.uploads import registry_upload
from dashboard.widgets import fmt_dt, get_app, guard, plain, run_action, show_error

actor = guard("accounts")
app = get_app()
st.title("Лицевые счета")

known = providers.list_providers(app)
tab_providers, tab_register, tab_customer = st.tabs(
    ["Поставщики", "Реестр лицевых счетов", "Счета клиента"])
with tab_providers:
    if not known:
        st.info("Поставщиков пока нет")
    else:
        st.dataframe(pd.DataFrame([{
            "Поставщик": p.name, "ИНН": p.inn, "Телефон": p.contact_phone,
            "Услуги": p.service_label, "Номер лицевого счёта": p.account_rule,
            "Счета в кабинете": "да" if p.invoicing_enabled else "нет",
            "Комиссия": p.commission_text,
            "Подтверждение владения": "суммой последнего счёта" if p.ownership_proof else "нет",
            "Счетов в реестре": p.accounts_count, "Реестр загружен": fmt_dt(p.register_loaded_at),
        } for p in known]), hide_index=True, width="stretch")
    if actor.role is StaffRole.ADMIN:
        with st.expander("Новый поставщик"):
            with st.form("provider_add"):
                c1, c2 = st.columns(2)
                form = providers.ProviderForm(
                    name=c1.text_input("Название"), inn=c2.text_input("ИНН"),
                    contact_phone=c1.text_input("Телефон поставщика"),
                    service_kind=c2.selectbox("Вид услуг", list(SERVICE_KINDS),
                                              format_func=SERVICE_KINDS.__getitem__),
                    account_pattern=c1.text_input("Правило номера (регулярное выражение)",
                                                  value=r"\d{10}"),
                    account_hint=c2.text_input("Правило словами", value="10 цифр"),
                    commission_percent=c1.text_input("Комиссия, %", value="0"),
                    commission_min=c2.text_input("Минимальная комиссия, ₽", value="0"),
                    invoicing_enabled=st.checkbox("Выставляет счета в кабинет", value=True),
                    ownership_proof=st.checkbox("Привязка — с подтверждением суммой последнего "
                                                "счёта"))
                if st.form_submit_button("Добавить поставщика"):
                    if run_action(lambda: providers.add_provider(app, actor, form),
                                  f"Поставщик «{form.name}» добавлен"):
                        st.rerun()

with tab_register:
    if actor.role in providers.REGISTER_LOADERS and known:
        st.caption("Файл поставщика: номер лицевого счёта, адрес, ФИО плательщика "
                   "(хранится только маскированным). Файл загружается целиком или не "
                   "загружается вовсе; повторная загрузка того же файла ничего не меняет.")
        registry_upload("acc", {p.id: p.name for p in known},
                        lambda pid, name, data, progress: providers.import_account_register(
                            app, actor, pid, name, data, progress),
                        label="Реестр лицевых счетов (CSV или XLSX)")
    elif not known:
        st.info("Сначала добавьте поставщика")
    else:
        st.caption("Загрузка реестров доступна финансистам и администраторам")

with tab_customer:
    with st.form("acc_customer_form"):
        phone = st.text_input("Телефон клиента", key="acc_customer_phone")
        found = st.form_submit_button("Показать счета")
    if found:
        try:
            match = contact_center.search_customers(app, actor, phone, PageRequest(1, 10))
            if match.total != 1 or try_normalize_phone(phone) is None:
                st.info("Введите полный номер телефона одного клиента")
            else:
                person = match.items[0]
                bound = accounts.customer_accounts(app, actor, person.id)
                st.markdown(f"**{plain(person.full_name)}** · {plain(person.phone)} · "
                            f"{person.status.label}")
                if not bound:
                    st.info("Лицевые счета не привязаны")
                else:
                    st.dataframe(pd.DataFrame([{
                        "Название": b.name, "Поставщик": b.provider_name,
                        "Лицевой счёт": b.account_number, "Адрес": b.address,
                        "Привязан": fmt_dt(b.bound_at)} for b in bound]), hide_index=True)
        except DomainError as error:
            show_error(error)
