"""«Сотрудники» (administrators): accounts, roles, deactivation, password resets (a
temporary password shown once), second factors (who has one; reset), login locks."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actors import StaffRole
from core.staff import members, totp
from core.staff.members import ROLE_LABELS
from dashboard.widgets import (ask_confirmation, confirm_dialog, fmt_dt, get_app, guard, plain,
                               run_action)

actor = guard("staff")
app = get_app()
st.title("Сотрудники")
TEMPORARY = "staff_temporary_password"  # (login, password): shown until «Пароль передан»


def second_factor_text(p: members.StaffInfo) -> str:
    if p.second_factor:
        return "подключён"
    return "нет — обязателен, подключит при входе" if totp.required(p.role) else "нет"


def give_temporary_password(person: members.StaffInfo) -> None:
    st.session_state[TEMPORARY] = (person.login, members.reset_password(app, actor, person.id))


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
    "Двухфакторный вход": second_factor_text(p),
    "Пароль": "временный, сменит при входе" if p.must_change_password else "свой",
} for p in people]), hide_index=True, width="stretch")

if TEMPORARY in st.session_state:
    shown_login, temporary = st.session_state[TEMPORARY]
    st.warning(plain(f"Временный пароль сотрудника {shown_login} показан один раз: передайте "
                     "его лично или по телефону, не по почте. При входе сотрудник задаст свой."))
    st.code(temporary, language=None)
    if st.button("Пароль передан, скрыть", key="staff_temp_done"):
        del st.session_state[TEMPORARY]
        st.rerun()

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
    if c2.button("Сбросить пароль", key="staff_pw_btn", disabled=person.id == actor.staff_id,
                 help="Свой пароль вы меняете сами" if person.id == actor.staff_id else
                 "Выдать временный пароль: он будет показан один раз, при входе сотрудник "
                 "задаст свой"):
        ask_confirmation("staff_pw")
    confirm_dialog("staff_pw", "Сбросить пароль?",
                   f"Сотрудник {person.login} получит временный пароль (он будет показан "
                   "один раз), его сеансы будут завершены.",
                   lambda _: give_temporary_password(person), "Временный пароль выдан")
    if person.second_factor:
        if c2.button("Сбросить двухфакторный вход", key="staff_tfa_btn"):
            ask_confirmation("staff_tfa")
        confirm_dialog("staff_tfa", "Сбросить двухфакторный вход?",
                       f"{person.name} ({person.login}): приложение и резервные коды перестанут "
                       "действовать, сеансы будут завершены"
                       + ("; при следующем входе он подключит новое приложение."
                          if totp.required(person.role) else "."),
                       lambda _: members.reset_second_factor(app, actor, person.id),
                       "Двухфакторный вход сброшен")
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
