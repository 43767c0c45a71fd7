"""«Главная»: where every role lands; says what the role can do here."""
from __future__ import annotations

import streamlit as st

from core.staff.members import ROLE_LABELS
from dashboard.access import pages_for
from dashboard.widgets import guard, plain, staff_name

actor = guard("home")
st.title("Бэк-офис личного кабинета ЖКХ")
st.write(f"Здравствуйте, {plain(staff_name())}. Ваша роль: {ROLE_LABELS[actor.role]}.")
available = [spec.title for spec in pages_for(actor.role) if spec.key != "home"]
if available:
    st.write("Доступные разделы: " + ", ".join(f"«{title}»" for title in available) + ".")
else:
    st.info("Разделы для вашей роли появятся здесь по мере их запуска.")
st.caption("Контакт-центр для клиентов: 8 800 100 39 00")
