"""Entry point of the customer's cabinet: page config, the session, the pages of the manual
(logged out: «Вход», «Регистрация», «Произвольный платёж»; logged in: «Счета к оплате»,
«Оплата», «История операций», «Настройки»), the sidebar with «Выйти» and the demo's panel.

Served through ``cabinet/server.py`` (security headers); tests run this script alone."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run cabinet/app.py` from anywhere
    sys.path.insert(0, str(ROOT))

from cabinet import login_submit, session  # noqa: E402
from cabinet.widgets import REGISTERING, demo_panel, get_app, plain  # noqa: E402
from core import customer_api as api  # noqa: E402
from core.errors import ServiceUnavailable  # noqa: E402
from webapp import script_runs  # noqa: E402

script_runs.note()
st.set_page_config(page_title="Личный кабинет ЖКХ", page_icon=":material/home:", layout="wide")
st.set_option("client.disableDataExport", True)
here = Path(__file__).resolve().parent


def _page(name: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(str(here / "views" / f"{name}.py"), title=title, icon=icon,
                   url_path=name, default=default)


app = get_app()
try:
    session.open_staff_view(app)
    login_submit.take_login(app)  # before the pages: a login draws its landing page now
    customer_id = session.current_customer(app)
except ServiceUnavailable as error:
    logging.getLogger("cabinet").error("Страница не показана: база данных недоступна",
                                       exc_info=error.__cause__)
    st.error(str(error))
    st.stop()

if customer_id is None:
    navigation = st.navigation([
        _page("login", "Вход", ":material/login:", default=True),
        _page("register", "Регистрация", ":material/person_add:"),
        _page("guest_payment", "Произвольный платёж", ":material/payments:"),
    ])
    registering = st.session_state.get(REGISTERING)
    if registering is not None:
        _, phone, email = registering
        demo_panel(phone, email)
    elif "cab_guest_payment" in st.session_state:  # the payer's one-time password, by e-mail
        demo_panel(None, st.session_state.get("cab_guest_email"))
    navigation.run()
    st.stop()

navigation = st.navigation([
    _page("invoices", "Счета к оплате", ":material/receipt_long:", default=True),
    _page("payment", "Оплата", ":material/credit_card:"),
    _page("history", "История операций", ":material/history:"),
    _page("settings", "Настройки", ":material/settings:"),
])
me = api.profile(app, session.token())
session.note_viewer(me.viewed_by)
name = " ".join(part for part in (me.personal.first_name, me.personal.surname) if part)
with st.sidebar:
    st.markdown(f"**{plain(name or me.phone)}**  \n{plain(me.phone)}")
    if st.button("Закончить просмотр" if me.viewed_by else "Выйти", key="cab_logout"):
        session.logout(app)
        st.rerun()
if me.viewed_by:
    # The codes and letters sent to the customer are theirs alone, demo or not.
    full_name = " ".join(part for part in (me.personal.surname, me.personal.first_name,
                                           me.personal.patronymic) if part)
    st.warning(plain(f"Кабинет клиента {full_name or 'без ФИО'}, {me.phone}: просмотр "
                     f"сотрудником {me.viewed_by}. Только чтение, действия недоступны."),
               icon=":material/visibility:")
else:
    demo_panel(me.phone, me.email)
navigation.run()
