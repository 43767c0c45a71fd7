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
from webapp import script_runs  # noqa: E402
from dashboard.access import CARD_PAGES, PAGES, landing_for, pages_for  # noqa: E402
from dashboard.auth import StaffAuth, take_return_to  # noqa: E402
from dashboard.widgets import get_app, plain, staff_name  # noqa: E402

st.set_page_config(page_title="Бэк-офис ЛК ЖКХ", page_icon=":material/account_balance:",
                   layout="wide")
# Tables hold payer phones and e-mails: no «Download as CSV» nor clipboard copy of them;
# exports go through our journaled «Выгрузить в Excel» only. Also in .streamlit/config.toml
# (this covers a server started from another directory).
st.set_option("client.disableDataExport", True)
here = Path(__file__).resolve().parent
script_runs.note()


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
landing = landing_for(actor.role)
pages = {spec.key: st.Page(str(here / spec.path), title=spec.title, icon=spec.icon,
                           url_path=spec.key, default=spec.key == landing) for spec in allowed}

# Pages the role may not open stay registered, out of the menu, so that an address
# of one (a link from a colleague) reaches its guard, which says so and lands
# here; unregistered, it would silently open the landing page instead.
refused = {spec.key: st.Page(str(here / spec.path), title=spec.title, url_path=spec.key,
                             visibility="hidden") for spec in PAGES if spec.key not in pages}
navigation = st.navigation([*pages.values(), *refused.values()])
return_to = take_return_to()
linked = {**pages, **refused}
if return_to in linked and navigation.url_path != return_to:
    # The page a link pointed at before the login, with the card it names (?payment=7).
    st.switch_page(linked[return_to], query_params=st.query_params.to_dict())
for param, owner in CARD_PAGES.items():
    # A card's link opens on its own page whatever page the address names (the landing
    # page's is «/»): a link an agent copies on «Клиенты» opens it for finance too.
    if param in st.query_params and navigation.url_path != linked[owner].url_path:
        st.switch_page(linked[owner], query_params={param: st.query_params[param]})
with st.sidebar:
    st.markdown(f"**{plain(staff_name())}**  \n{ROLE_LABELS[actor.role]}")
    if st.button("Выйти", key="staff_logout"):
        auth.logout()
        st.query_params.clear()  # the open card is the last member's, not the next one's
        st.rerun()
try:
    navigation.run()
except ServiceUnavailable as error:
    _unavailable(error)
