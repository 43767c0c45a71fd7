"""«Журнал действий»: filters, a paginated list; admins see all, others their own."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actors import StaffRole
from core.errors import DomainError
from core.staff import audit, members
from dashboard.components.raw_records import raw_records
from dashboard.widgets import (
    excel_export, fmt_dt, forget_export, get_app, guard, page_request, pager, show_error,
)

actor = guard("audit")
app = get_app()
st.title("Журнал действий")
if actor.role is not StaffRole.ADMIN:
    st.caption("Показаны только ваши действия")

with st.form("audit_filters"):
    c1, c2, c3, c4, c5 = st.columns(5)
    people = members.staff_choices(app, actor)
    who = c1.selectbox("Сотрудник", [None, *people], placeholder="Все",
                       format_func=lambda k: "Все" if k is None else people[k], key="aud_staff")
    action = c2.selectbox("Действие", [None, *audit.ACTION_LABELS], placeholder="Все",
                          format_func=lambda k: "Все" if k is None else audit.ACTION_LABELS[k],
                          key="aud_action")
    phone = c3.text_input("Телефон клиента", key="aud_phone")
    date_from = c4.date_input("С", value=None, format="DD.MM.YYYY", key="aud_from")
    date_to = c5.date_input("По", value=None, format="DD.MM.YYYY", key="aud_to")
    if st.form_submit_button("Показать"):
        st.session_state["aud_page"] = 1
        forget_export("aud")

flt = audit.AuditFilter(staff_id=who, action=action, customer_phone=phone or None,
                        date_from=date_from, date_to=date_to)
try:
    page = audit.list_entries(app, actor, flt, page_request("aud"))
except DomainError as error:
    show_error(error)
    st.stop()

if page.total == 0:
    st.info("Записей не найдено")
else:
    st.dataframe(pd.DataFrame([{
        "Когда": fmt_dt(r.at), "Кто": r.actor, "Действие": r.action_label,
        "Клиент": r.customer or "", "Что произошло": r.details, "Причина": r.reason or "",
        "Результат": "успешно" if r.result == "ok" else "отказ",
    } for r in page.items]), hide_index=True, width="stretch")
    raw_records("aud", {f"{fmt_dt(r.at)} · {r.action_label} · запись № {r.id}": r.raw
                        for r in page.items})
    pager("aud", page)
    excel_export("aud", "zhurnal.xlsx", lambda: audit.export_entries(app, actor, flt))
