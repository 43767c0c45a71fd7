"""«Сотрудники» (administrators): accounts, roles, deactivation, password resets, login
locks."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actors import StaffRole
from core.staff import members
from core.staff.members import ROLE_LABELS
from dashboard.widgets import (ask_confirmation, confirm_dialog, fmt_dt, get_app, guard, plain,
                               run_action)

actor = guard("staff")
app = get_app()
st.title("Сотрудники")


def lock_text(lock: members.LoginLock | None) -> str:
    if lock is None:
        return "нет"
    if lock.for_everyone:
        return f"до {fmt_dt(lock.until)}, с любого адреса"
    addresses = ", ".join("неизвестный" if a == "unknown" else a for a in lock.addresses)
    return f"до {fmt_dt(lock.until)}, с адреса: {addresses}"


people = members.list_staff(app, actor)
st.dataframe(pd.DataFrame([{
    "Логин": p.login, "ФИО": p.name, "E-mail": p.email, "Роль": ROLE_LABELS[p.role],
    "Активен": "да" if p.is_active else "нет", "Последняя активность": fmt_dt(p.last_seen_at),
    "Вход заблокирован": lock_text(p.login_lock),
} for p in people]), hide_index=True, width="stretch")

roles = list(StaffRole)
with st.expander("Новый сотрудник"):
    # Not clear_on_submit: a refused form keeps what was typed; a success clears it.
    fields = ("new_login", "new_name", "new_email", "new_password")
    with st.form("staff_add"):
        login = st.text_input("Логин", key="new_login")
        name = st.text_input("ФИО", key="new_name")
        email = st.text_input("E-mail", key="new_email")
        role = st.selectbox("Роль", roles, format_func=ROLE_LABELS.__getitem__)
        password = st.text_input("Пароль", type="password", key="new_password")
        if st.form_submit_button("Создать"):
            if run_action(lambda: members.add_staff(app, actor, login=login, name=name,
                                                    email=email, role=role, password=password),
                          f"Сотрудник {login} создан"):
                for field in fields:
                    del st.session_state[field]
                st.rerun()

st.subheader("Изменить сотрудника")
by_id = {p.id: p for p in people}
chosen = st.selectbox("Сотрудник", list(by_id), key="staff_pick",
                      format_func=lambda i: f"{by_id[i].name} ({by_id[i].login})")
if chosen is not None:
    person = by_id[chosen]
    c1, c2, c3 = st.columns(3)
    new_role = c1.selectbox("Новая роль", roles, index=roles.index(person.role),
                            format_func=ROLE_LABELS.__getitem__, key="staff_new_role")
    if c1.button("Сменить роль", key="staff_role_btn"):
        ask_confirmation("staff_role")
    confirm_dialog("staff_role", "Сменить роль?",
                   f"{person.name}: {ROLE_LABELS[person.role]} → {ROLE_LABELS[new_role]}. "
                   "Все его сеансы будут завершены.",
                   lambda _: members.change_role(app, actor, person.id, new_role), "Роль изменена")
    new_password = c2.text_input("Новый пароль", type="password", key="staff_new_pw")
    if c2.button("Сменить пароль", key="staff_pw_btn"):
        ask_confirmation("staff_pw")
    confirm_dialog("staff_pw", "Сменить пароль?",
                   f"Пароль сотрудника {person.login} будет заменён, его сеансы завершены.",
                   lambda _: members.change_password(app, actor, person.id, new_password),
                   "Пароль изменён")
    label = "Отключить" if person.is_active else "Включить"
    if c3.button(label, key="staff_active_btn"):
        ask_confirmation("staff_active")
    confirm_dialog("staff_active", f"{label} учётную запись?",
                   f"{person.name} ({person.login})"
                   + (": вход будет закрыт, сеансы завершены." if person.is_active else "."),
                   lambda _: members.set_active(app, actor, person.id, not person.is_active),
                   "Готово")
    if person.login_lock is not None:
        # The addresses were sent by a client: shown as typed, never as markdown.
        st.warning(plain(f"Вход {person.login} заблокирован {lock_text(person.login_lock)}"))
        if st.button("Снять блокировку входа", key="staff_unlock_btn"):
            if run_action(lambda: members.unlock_login(app, actor, person.id),
                          f"Блокировка входа {person.login} снята"):
                st.rerun()
