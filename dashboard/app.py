"""Entry point: page config, staff login, the pages the role may open, navigation.

Served through ``dashboard/server.py`` (security headers); tests run this script alone."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` from anywhere
    sys.path.insert(0, str(ROOT))

from core.errors import ServiceUnavailable  # noqa: E402
from core.staff.members import ROLE_LABELS  # noqa: E402
from dashboard.access import PAGES, pages_for  # noqa: E402
from dashboard.auth import StaffAuth, take_return_to  # noqa: E402
from dashboard.widgets import get_app, plain, staff_name  # noqa: E402

st.set_page_config(page_title="Бэк-офис ЛК ЖКХ", page_icon=":material/account_balance:",
                   layout="wide")
# Tables hold payer phones and e-mails: no «Download as CSV» nor clipboard copy of them;
# exports go through our journaled «Выгрузить в Excel» only. Also in .streamlit/config.toml
# (this covers a server started from another directory).
st.set_option("client.disableDataExport", True)
here = Path(__file__).resolve().parent


def _unavailable(error: ServiceUnavailable) -> None:
    logging.getLogger("dashboard").error("Страница не показана: база данных недоступна",
                                         exc_info=error.__cause__)
    st.error(str(error))
    st.stop()


def _login_page() -> None:
    """Never run: the login form is drawn before the navigation."""


app = get_app()
try:
    auth = StaffAuth(app)
    actor = auth.current_actor()
except ServiceUnavailable as error:
    _unavailable(error)
if actor is None:
    # A navigation with no links: the sidebar must not keep the last member's pages,
    # and the address asked for (/audit) stays, to be opened after the login.
    # The default is a page of its own, so that the login lands on the role's landing.
    st.navigation([st.Page(_login_page, title="Вход", url_path="login", default=True),
                   *(st.Page(str(here / spec.path), title="Вход", url_path=spec.key)
                     for spec in PAGES)], position="hidden")
    st.stop()

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
try:
    navigation.run()
except ServiceUnavailable as error:
    _unavailable(error)
