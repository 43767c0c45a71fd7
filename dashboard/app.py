"""Entry point: page config, staff login, the pages the role may open, navigation."""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` from anywhere
    sys.path.insert(0, str(ROOT))

from core.staff.members import ROLE_LABELS  # noqa: E402
from dashboard.access import pages_for  # noqa: E402
from dashboard.auth import StaffAuth, take_return_to  # noqa: E402
from dashboard.widgets import get_app, plain, staff_name  # noqa: E402

st.set_page_config(page_title="Бэк-офис ЛК ЖКХ", page_icon=":material/account_balance:",
                   layout="wide")

app = get_app()
auth = StaffAuth(app)
actor = auth.current_actor()
if actor is None:
    st.stop()

here = Path(__file__).resolve().parent
allowed = pages_for(actor.role)
# Agents land on «Клиенты», their daily work; others on «Главная».
landing = "customers" if any(spec.key == "customers" for spec in allowed) else "home"
pages = {spec.key: st.Page(str(here / spec.path), title=spec.title, icon=spec.icon,
                           url_path=spec.key, default=spec.key == landing) for spec in allowed}
navigation = st.navigation(list(pages.values()))
return_to = take_return_to()
if return_to in pages and navigation.url_path != return_to:
    st.switch_page(pages[return_to])  # the page a link pointed at before the login
with st.sidebar:
    st.markdown(f"**{plain(staff_name())}**  \n{ROLE_LABELS[actor.role]}")
    if st.button("Выйти", key="staff_logout"):
        auth.logout()
        st.rerun()
navigation.run()
