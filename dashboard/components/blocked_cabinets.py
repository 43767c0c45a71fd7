"""«Заблокированные кабинеты» on «Клиенты»: the cabinets blocked now, newest first, for an
agent to work through; a row opens the customer's card like a row of the search."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actors import StaffActor
from core.app import App
from core.customers import blocked_cabinets
from core.errors import DomainError
from dashboard.widgets import fmt_dt, page_request, pager, row_table, show_error

KEY = "blk"


def render_blocked_cabinets(app: App, actor: StaffActor, card_param: str) -> None:
    try:
        page = blocked_cabinets.list_blocked_cabinets(app, actor, page_request(KEY))
    except DomainError as error:
        show_error(error)
        return
    if page.total == 0:
        st.info("Заблокированных кабинетов нет.")
        return
    st.caption("Сначала заблокированные последними. Разблокировать можно в карточке клиента "
               "после проверки кодового слова.")
    table = pd.DataFrame([{
        "Заблокирован": fmt_dt(row.blocked_at), "ФИО": row.full_name, "Телефон": row.phone,
        "Кто заблокировал": row.blocked_by, "Причина": row.reason,
    } for row in page.items])
    row_table(KEY, table, [row.customer_id for row in page.items], card_param)
    pager(KEY, page)
