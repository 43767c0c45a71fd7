"""Widgets every page shares: the app handle, the role guard, paging, confirmations,
messages and formatting. Pages stay thin: input -> one service call -> render."""
from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Sequence
from datetime import date, datetime

from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.actors import StaffActor
from core.app import App, build_app
from core.errors import DomainError
from core.paging import PAGE_SIZES, Page, PageRequest
from core.files import progress
from core.timefmt import format_date, format_datetime_msk
from dashboard.access import BY_KEY, can_act, landing_for
from core.customers.errors import SessionInvalid
from core.staff import members
from core.staff.errors import LoginStepPending
from dashboard.auth import NAME, TOKEN, client_hash
from dashboard.downloads import download
from webapp.text import plain  # noqa: F401  (pages take it from here)

DASHBOARD = Path(__file__).resolve().parent
# persist_state of a widget a page may leave undrawn (its tab closed, only the open tab is
# drawn): Streamlit would forget its value at the end of the run; this keeps it while the
# user stays on the page and, as ever, not past a switch to another page.
KEPT_ON_PAGE = "page"


@st.cache_resource
def get_app() -> App:
    """One engine and session factory per process (shared by all users: it holds no user state)."""
    return build_app()


def guard(page_key: str) -> StaffActor:
    """Every page starts here and checks the staff session and the role itself,
    whatever the entry script did: a page must never trust that it was reached
    through the login."""
    spec = BY_KEY[page_key]
    try:
        actor: StaffActor | None = members.check_session(
            get_app(), st.session_state.get(TOKEN, ""), client_hash())
    except SessionInvalid as error:
        show_error(error)
        st.stop()
    if actor is not None and actor.role not in spec.roles:
        _refuse_and_land(spec.title, actor)
    if actor is None or actor.role not in spec.roles:
        st.error("Недостаточно прав для этой страницы")
        st.stop()
    # Messages of the action that caused this rerun; shown by the page, since
    # what the entry script draws before the page is not kept on screen.
    show_flash()
    return actor


def _refuse_and_land(title: str, actor: StaffActor) -> None:
    """A page the role may not open, reached by its address: say so on the landing page."""
    flash(f"Нет доступа к разделу «{title}»", "error")
    try:
        st.switch_page(str(DASHBOARD / BY_KEY[landing_for(actor.role)].path))
    except StreamlitAPIException:  # the page run on its own, with no navigation to land in
        st.session_state.pop("flash", None)


def fragment(body: Callable[[], None]) -> Callable[[], None]:
    """``st.fragment`` for a page's list and card: a click inside (a row, the pager, the
    filters' «Показать») reruns it alone, not the entry script and the whole page (the
    login check, the navigation, the sidebar, the page's other tab). Such a rerun passes
    neither app.py nor ``guard``, so it checks the staff session itself; one that ended
    reruns the whole app, which says why and shows the login."""
    @functools.wraps(body)
    def checked() -> None:
        context = get_script_run_ctx()
        if context is not None and context.fragment_ids_this_run:
            try:
                members.check_session(get_app(), st.session_state.get(TOKEN, ""),
                                      client_hash())
            except (SessionInvalid, LoginStepPending):
                st.rerun()
        body()

    return st.fragment(checked)


def may_act(page_key: str, actor: StaffActor) -> bool:
    return can_act(page_key, actor.role)


def staff_name() -> str:
    return str(st.session_state.get(NAME, ""))


def show_error(error: Exception) -> None:
    """A domain error as a sentence; its message may quote what a person typed."""
    st.error(plain(error))


def fmt_dt(moment: datetime | None) -> str:
    return format_datetime_msk(moment)


def fmt_date(day: date | None) -> str:
    return format_date(day)


def flash(message: str, kind: str = "success") -> None:
    """A message that survives the rerun after an action."""
    st.session_state.setdefault("flash", []).append((kind, message))


def show_flash() -> None:
    for kind, message in st.session_state.pop("flash", []):
        getattr(st, kind)(plain(message))


def run_action(action: Callable[[], object], success: str) -> bool:
    """Call one service; show its domain error as a sentence, never a stack trace."""
    try:
        action()
    except DomainError as error:
        show_error(error)
        return False
    flash(success)
    return True


def page_request(key: str) -> PageRequest:
    """The page a list should query, from its pager's widgets (drawn under the list)."""
    return PageRequest(number=int(st.session_state.get(f"{key}_page", 1)),
                       size=int(st.session_state.get(f"{key}_size", 25)))


def reset_pager(key: str) -> None:
    st.session_state[f"{key}_page"] = 1


def open_tab_only(titles: Sequence[str], key: str, drawers: Sequence[Callable[[], None]],
                  *, always: str | None = None) -> None:
    """Tabs of which only the open one is read and drawn: a click on another reruns the
    script (or the fragment they are in), and ``key`` holds the open tab's title. ``always``
    names a tab drawn while closed too: a form sends its fields only on submit, so what is
    typed in it lives in the browser and is lost once the form leaves the page. Widgets of
    a closed tab lose their values unless drawn with ``persist_state=KEPT_ON_PAGE``."""
    tabs = st.tabs(list(titles), key=key, on_change="rerun")
    for title, tab, draw in zip(titles, tabs, drawers, strict=True):
        if tab.open or title == always:
            with tab:
                draw()


def pager(key: str, page: "Page[object]", *, kept: bool = False) -> None:
    """Page size, page number and the total count, under a list; ``kept``: they keep
    their values while the list is not drawn (its tab closed), as its filter does. Not for
    the lists of a card, whose keys every customer's card shares."""
    # Past the counted cap the next page is still reachable.
    last = page.pages + (1 if page.total_capped else 0)
    if st.session_state.get(f"{key}_page", 1) > last:
        st.session_state[f"{key}_page"] = last
    left, right, info = st.columns([1, 1, 3])
    keep = KEPT_ON_PAGE if kept else None
    left.selectbox("Строк на странице", PAGE_SIZES, index=PAGE_SIZES.index(25),
                   key=f"{key}_size", persist_state=keep)
    right.number_input("Страница", min_value=1, max_value=last, step=1, key=f"{key}_page",
                       persist_state=keep)
    more = " и далее" if page.total_capped else ""
    info.caption(f"Всего: {page.total_text} · страниц: {page.pages}{more}")


# --- cards behind links --------------------------------------------------------
# The open card lives in the address (/payments?payment=7), not in session_state:
# a link to it can be bookmarked or sent to a colleague, and opens it after the login.


def linked_id(param: str, what: str) -> int | None:
    """The number of the card the address opens (?payment=7), or None.

    ``what`` names it in the refusal of a mistyped link («платежа»)."""
    raw = st.query_params.get(param)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) <= 0 or len(raw) > 18:
        st.error(f"Ссылка: «{plain(raw)}» не номер {what}")
        return None
    return int(raw)


def open_card(param: str, record_id: int) -> None:
    st.query_params[param] = str(record_id)


def close_card(param: str) -> None:
    st.query_params.pop(param, None)


def card_under_lists(draw_card: Callable[[], None], draw_lists: Callable[[], None]) -> None:
    """The open card in its place under a page's lists, drawn first: a row's click shows
    it without waiting for the lists' queries and their tables in the browser (which has
    them already)."""
    lists, card_area = st.container(), st.container()
    with card_area:
        draw_card()
    with lists:
        draw_lists()


def close_card_button(param: str, label: str = "Закрыть карточку") -> None:
    if st.button(label, key=f"close_{param}", icon=":material/close:"):
        close_card(param)
        st.rerun()


def row_table(key: str, frame: pd.DataFrame, ids: Sequence[int], param: str | None = None,
              ) -> None:
    """A list whose row click opens the row's card: its number goes to the address
    (``param``), or, for a list inside a card, to ``{key}_picked`` (see ``picked_row``)."""
    opened = st.query_params.get(param) if param else st.session_state.get(f"{key}_picked")
    # The key follows the rows shown: another page or search is a new table with no
    # row picked, so a kept position never opens a row nobody clicked on. And the open
    # row: a card closed by its button (not by a click on its row) leaves a table whose
    # browser side still holds the row picked, and a click on it again only un-picked it.
    widget = f"{key}_rows_{zlib.crc32(repr((tuple(ids), opened)).encode())}"
    st.session_state[f"{key}_row_ids"] = list(ids)  # what each row opens (tests read it)
    shown = [i for i, record_id in enumerate(ids) if str(record_id) == str(opened)]

    def picked() -> None:
        state = st.session_state.get(widget)
        if state is None:  # a logout emptied the session before the table's last event came
            return
        rows = state.selection.rows
        chosen = ids[rows[0]] if rows else None  # None: the open row clicked again
        if param is None:
            st.session_state[f"{key}_picked"] = chosen
        elif chosen is None:
            close_card(param)
        else:
            open_card(param, chosen)

    st.dataframe(frame, key=widget, on_select=picked, selection_mode="single-row",
                 selection_default={"selection": {"rows": shown}} if shown else None,
                 hide_index=True, width="stretch")
    st.caption("Щёлкните строку, чтобы открыть карточку")


def picked_row(key: str) -> int | None:
    """The row of an in-card list (``row_table`` without ``param``) last clicked on."""
    chosen = st.session_state.get(f"{key}_picked")
    return None if chosen is None else int(chosen)


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def excel_export(key: str, file_name: str, build: Callable[[], bytes]) -> None:
    """«Выгрузить в Excel» for the filtered rows. The file is built (and the
    export journaled) once, when asked for, not on every rerun of the page."""
    if st.button("Выгрузить в Excel", key=f"{key}_export"):
        bar = st.progress(0.0, text="Готовим файл…")

        def show(written: int, total: int | None) -> None:
            done = f"Записано строк: {written:,}".replace(",", "\u00a0")
            bar.progress(min(written / total, 1.0) if total else 0.0,
                         text=done + (f" из {total:,}".replace(",", "\u00a0") if total else ""))
        try:
            with progress.reporting(show):
                st.session_state[f"{key}_export_data"] = build()
        except DomainError as error:
            show_error(error)
        finally:
            bar.empty()
    data = st.session_state.get(f"{key}_export_data")
    if data:
        download("Скачать файл", data, file_name, XLSX_MIME, key=f"{key}_download")


def forget_export(key: str) -> None:
    """A new search or filter makes a prepared file stale."""
    st.session_state.pop(f"{key}_export_data", None)


# --- confirmations -----------------------------------------------------------
# The dialog's open state lives in session_state, so a rerun inside the dialog
# (typing the reason, pressing «Подтвердить») keeps it open until it is done.

PENDING = "confirm_pending"


def ask_confirmation(action_id: str) -> None:
    st.session_state[PENDING] = action_id


def pending_confirmation() -> str | None:
    return st.session_state.get(PENDING)


def _dismiss() -> None:
    st.session_state.pop(PENDING, None)


def confirmed_button(label: str, key: str, action_id: str, title: str, text: str,
                     on_confirm: Callable[[str], object], success: str, *,
                     reason_label: str | None = None) -> None:
    """A button whose action runs only after its confirmation dialog (``confirm_dialog``)."""
    if st.button(label, key=key):
        ask_confirmation(action_id)
    confirm_dialog(action_id, title, text, on_confirm, success, reason_label=reason_label)


def confirm_dialog(action_id: str, title: str, text: str, on_confirm: Callable[[str], object],
                   success: str, *, reason_label: str | None = None) -> None:
    """Draw the confirmation for ``action_id`` if it was asked for."""
    if pending_confirmation() != action_id:
        return

    @st.dialog(title, on_dismiss=_dismiss)
    def _dialog() -> None:
        st.write(plain(text))  # it may quote what was typed (an amount)
        with st.form(f"confirm_{action_id}"):
            reason = st.text_area(reason_label, max_chars=500) if reason_label else ""
            confirmed = st.form_submit_button("Подтвердить", type="primary")
            cancelled = st.form_submit_button("Отмена")
        if cancelled:
            _dismiss()
            st.rerun()
        if confirmed and run_action(lambda: on_confirm(reason), success):
            _dismiss()
            st.rerun()

    _dialog()
