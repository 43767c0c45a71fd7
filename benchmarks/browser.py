"""Time to content in a real browser (issue 16, points 1 and 2): Playwright driving Debian's
chromium against `streamlit run dashboard/server.py` (and `cabinet/server.py`) on the
suite's data set, beside the same browser loading bare Streamlit pages, and beside
Django admin over the same tables (``benchmarks.django_peer``).

What is timed, each a median over the passes (every pass a fresh browser context and a
fresh login of its own administrator, so that no TOTP step waits for the next one):
- the login form's first load (``goto`` to the form's fields), login to landing (the
  code's «Подтвердить» to the landing page's content), the script runs a login costs;
- every page of the navigation, from the click on its sidebar link to its named main
  element (``DASHBOARD_PAGES``), cold (the first view in the session) and warm (the
  second view, after the whole round);
- a search by phone, a customer card and a payment card opened by their row, a switch to
  the customer card's «Платежи» tab (only the open tab is drawn), the Excel export's click
  to the downloaded file;
- the cabinet's pages after a customer's login;
- the peer: Django admin's payments list with a status + provider filter, a payment
  number search, a customer found by phone, one payment's page, and ours doing the same.

Baselines of the same run: a bare Streamlit page with one ``st.write`` (page loads) and
a bare ``st.navigation`` switch (every click inside the app); beside it, switches to a bare
25-row ``st.dataframe`` and a bare 12-widget form, what a list page costs the browser
before any code of ours. Alongside, what
the browser waited for (``profile`` in latest.json): websocket bytes and messages, the
script runs, DOM elements and plotly JSON of each view.
"""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, figure
from benchmarks.pages import BENCH_PASSWORD, _next_code, dashboard_settings

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-quic"]
# A cold page at full scale on two shared cores; tests shorten it.
TIMEOUT_MS = int(os.environ.get("BENCH_BROWSER_TIMEOUT_MS", "120000"))
VIEWPORT = {"width": 1400, "height": 1000}

WARM_TARGET, COLD_TARGET, CARD_TARGET, FORM_TARGET = "< 400 ms", "< 1.5 s", "< 400 ms", "< 1.5 s"

# The named main element of each page: its title (h1) and then what must be drawn under
# it. ``css`` matches any of the comma-separated selectors (a page with nothing to list
# shows an alert instead of its table); ``idle``: also wait for the script run's end
# (a page whose last element is what counts, e.g. the last chart).
# A table's first row (ROW): st.dataframe draws its cells on a canvas, so the row counts
# once the canvas holds dark (text) pixels in the first row's band. Not the grid's
# accessibility table ([role="row"], the canvas's invisible fallback content): glide
# builds it through a 200 ms debounce restarted by every re-render, 230-450 ms after the
# cells are on screen (measured in Chromium 156, Streamlit 1.67), so a view timed to it
# counted a wait nobody sees. That table still counts if it comes first.
ROW = '[data-testid="stDataFrame"] [role="row"][aria-rowindex="2"]'
ALERT = '[data-testid="stAlert"]'
CHART = '[data-testid="stPlotlyChart"] .main-svg'


@dataclass(frozen=True)
class Target:
    title: str
    css: str
    idle: bool = False
    what: str = ""  # in words, for the report
    text: str = ""  # the element's text begins so (a card's own heading)

    def arg(self) -> list[object]:
        return [self.title, self.css, self.idle, self.text, ROW in self.css]


DASHBOARD_PAGES: dict[str, Target] = {
    "home": Target("Бэк-офис", '[data-testid="stCaptionContainer"]', what="the caption"),
    "customers": Target("Клиенты", '[data-testid="stForm"] input', what="the search form"),
    "accounts": Target("Лицевые счета", f"{ROW}, {ALERT}", what="the table's first row"),
    "invoices": Target("Счета", f"{ROW}, {ALERT}", what="the table's first row"),
    "payments": Target("Платежи", f"{ROW}, {ALERT}", what="the table's first row"),
    "reconciliation": Target("Сверка", f"{ROW}, {ALERT}", what="the runs' first row"),
    "payouts": Target("Реестры перечислений", f"{ROW}, {ALERT}", what="the first table row"),
    "subscriptions": Target("Подписки и рассылки", f"{ROW}, {ALERT}",
                            what="the first table row"),
    "analytics": Target("Аналитика", CHART, idle=True, what="every chart drawn"),
    "audit": Target("Журнал действий", f"{ROW}, {ALERT}", what="the table's first row"),
    "staff": Target("Сотрудники", ROW, what="the table's first row"),
}

# A grid on screen (not in a hidden tab) whose canvas drew its first data row:
# rows are 35 px under a 35 px header; text is the band's dark pixels.
_DRAWN = """(grid) => {
        const canvas = grid.querySelector('canvas[data-testid="data-grid-canvas"]');
        const box = canvas && canvas.getBoundingClientRect();
        if (!box || box.width < 50 || box.height < 70) return false;
        const ratio = canvas.height / box.height;
        const band = canvas.getContext('2d').getImageData(
            0, Math.floor(40 * ratio), canvas.width, Math.ceil(25 * ratio)).data;
        let dark = 0;
        for (let i = 0; i < band.length; i += 4) {
            if (band[i + 3] > 128 && band[i] + band[i + 1] + band[i + 2] < 300) dark += 1;
        }
        return dark > 20;
    }"""

# True once the target is on screen: a non-stale title, then a non-stale element of the
# target (Streamlit keeps the previous run's elements, marked stale, until replaced).
_SHOWN = """([title, css, idle, text, rows]) => {
    const fresh = (e) => !e.closest('[data-stale="true"]');
    const main = document.querySelector('[data-testid="stMain"]') || document;
    const heads = [...main.querySelectorAll('h1')].filter(
        (h) => fresh(h) && h.textContent.trim().startsWith(title));
    if (!heads.length) return false;
    const drawn = __DRAWN__;
    const grids = rows ? [...main.querySelectorAll('[data-testid="stDataFrame"]')].filter(
        (g) => fresh(g) && drawn(g)) : [];
    const found = [...main.querySelectorAll(css)].filter(
        (e) => fresh(e) && e.textContent.trim().startsWith(text));
    if (!found.length && !grids.length) return false;
    if (!grids.length && !found.some((e) => e.getClientRects().length
                          || e.closest('[data-testid="stDataFrame"]'))) return false;
    if (idle) {
        const app = document.querySelector('[data-testid="stApp"]');
        if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
        const charts = main.querySelectorAll('[data-testid="stPlotlyChart"]');
        for (const c of charts) if (fresh(c) && !c.querySelector('.main-svg')) return false;
    }
    return true;
}""".replace("__DRAWN__", _DRAWN)
# True once the open tab named so (a card's) holds a non-stale grid that drew its first row.
_TAB_SHOWN = """(tab) => {
    const drawn = __DRAWN__;
    const open = [...document.querySelectorAll('[role="tab"][aria-selected="true"]')].find(
        (t) => t.textContent.trim() === tab);
    const panel = open && document.getElementById(open.getAttribute('aria-controls'));
    return !!panel && [...panel.querySelectorAll('[data-testid="stDataFrame"]')].some(
        (g) => !g.closest('[data-stale="true"]') && drawn(g));
}""".replace("__DRAWN__", _DRAWN)
# True once an element of ``css`` is on screen and not stale, with this aria-label or text
# when given. Playwright's own ``locator.wait_for`` checks at growing intervals (0, 20, 50,
# 100, 100, 500 ms…), so an element that shows at 360 ms was found at 860: every wait that
# is timed polls at each frame instead.
_VISIBLE = """([css, label, text]) => [...document.querySelectorAll(css)].some((e) =>
    (!label || e.getAttribute('aria-label') === label)
    && (!text || e.textContent.trim() === text)
    && !e.closest('[data-stale="true"]') && e.getClientRects().length > 0)"""
_IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null && app.getAttribute('data-test-script-state') === 'notRunning';
}"""
_DOM = "() => document.getElementsByTagName('*').length"


def available() -> str | None:
    """Why the browser part cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return "Debian chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


def peer_available() -> str | None:
    """Why the Django peer cannot run here, or None (its packages are the bench extra,
    looked up, not imported: only benchmarks/django_peer imports them)."""
    from importlib.util import find_spec

    missing = [name for name in ("django", "gunicorn") if find_spec(name) is None]
    if missing:
        return (f"{' and '.join(missing)} not installed (the benchmark extra, "
                "requirements-bench.txt: make bench-deps)")
    return None


# --- what the browser waits for -------------------------------------------------------


@dataclass
class Wire:
    """Every websocket frame the page receives: bytes, messages, script runs (a
    ``new_session`` message starts each run) and plotly JSON (the charts' specs)."""

    bytes: int = 0
    messages: int = 0
    runs: int = 0
    plotly: int = 0

    def attach(self, page: Any) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: Any) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        data = payload if isinstance(payload, bytes) else str(payload).encode()
        self.bytes += len(data)
        self.messages += 1
        try:
            msg = ForwardMsg.FromString(data)
        except Exception:  # noqa: BLE001 - not a ForwardMsg: counted, not parsed
            return
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.runs += 1
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "plotly_chart":
                self.plotly += len(element.plotly_chart.spec)

    def snapshot(self) -> tuple[int, int, int, int]:
        return self.bytes, self.messages, self.runs, self.plotly


@dataclass
class View:
    """One timed view and what came with it (the wire counts until the run settled)."""

    ms: float
    ws_bytes: int = 0
    ws_messages: int = 0
    runs: int = 0
    plotly_json: int = 0
    dom_nodes: int = 0
    file_bytes: int = 0  # a download's size


@dataclass
class Views:
    """Per figure name: every pass's view."""

    by_name: dict[str, list[View]] = field(default_factory=dict)

    def add(self, name: str, view: View) -> None:
        self.by_name.setdefault(name, []).append(view)

    def median(self, name: str) -> float:
        return statistics.median(v.ms for v in self.by_name[name])

    def profile(self, name: str) -> dict[str, float]:
        views = self.by_name[name]
        return {"median_ms": round(self.median(name), 1),
                "all_ms": [round(v.ms, 1) for v in views],
                "ws_bytes": int(statistics.median(v.ws_bytes for v in views)),
                "ws_messages": int(statistics.median(v.ws_messages for v in views)),
                "script_runs": int(statistics.median(v.runs for v in views)),
                "plotly_json_bytes": int(statistics.median(v.plotly_json for v in views)),
                "dom_nodes": int(statistics.median(v.dom_nodes for v in views)),
                **({"file_bytes": views[0].file_bytes} if views[0].file_bytes else {})}


def settle(page: Any) -> None:
    """No script run under way, twice over: a run may trigger one more (the login cookie's
    component does), which would otherwise eat the next click."""
    page.wait_for_function(_IDLE, timeout=TIMEOUT_MS)
    page.wait_for_timeout(400)
    page.wait_for_function(_IDLE, timeout=TIMEOUT_MS)


def timed(page: Any, wire: Wire, act: Callable[[], None], until: Callable[[], None],
          ) -> View:
    """``act`` (a click, a goto), then ``until`` the content shows: ms between them; then
    the run settles and the view gets what the wire carried meanwhile. The content is
    looked for once the run the act started has begun (its ``new_session``): before it, a
    repeated view would find the previous run's copy, not yet marked stale."""
    before = wire.snapshot()
    start = time.perf_counter()
    act()
    try:
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while wire.runs == before[2]:
            if time.monotonic() > deadline:
                raise TimeoutError("no script run started")
            page.wait_for_timeout(5)  # lets Playwright deliver the frames meanwhile
        until()
    except Exception:
        shot = Path(tempfile.gettempdir()) / f"bench-browser-{int(time.time())}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"the awaited content did not show at {page.url}: {shot}", file=sys.stderr)
        raise
    ms = (time.perf_counter() - start) * 1000
    settle(page)
    after = wire.snapshot()
    return View(ms, after[0] - before[0], after[1] - before[1], after[2] - before[2],
                after[3] - before[3], int(page.evaluate(_DOM)))


def visible(page: Any, css: str, *, label: str = "", text: str = "") -> Callable[[], None]:
    return lambda: page.wait_for_function(_VISIBLE, arg=[css, label, text],
                                          timeout=TIMEOUT_MS, polling="raf")


def shown(page: Any, target: Target) -> Callable[[], None]:
    return lambda: page.wait_for_function(_SHOWN, arg=target.arg(), timeout=TIMEOUT_MS,
                                          polling="raf")


# --- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 90,
               ) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer: {log.read_text()[-3000:]}")


@dataclass(frozen=True)
class Server:
    command: list[str]
    env: dict[str, str]
    log: Path
    health: str
    base: str


def streamlit_server(script: Path, env: dict[str, str], log: Path) -> Server:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", str(script),
               "--server.headless", "true", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    return Server(command, env, log, f"{base}/_stcore/health", base)


@contextmanager
def serving(servers: dict[str, Server]) -> Iterator[dict[str, str]]:
    """Every server started at once (their imports overlap), each waited for until its
    health address answers; yields their base URLs; stops each by its PID."""
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for server in servers.values():
            out = server.log.open("w")
            logs.append(out)
            procs.append(subprocess.Popen(server.command, cwd=ROOT, env=server.env,
                                          stdout=out, stderr=subprocess.STDOUT))
        for server, proc in zip(servers.values(), procs):
            _wait_http(server.health, proc, server.log)
        yield {name: server.base for name, server in servers.items()}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for out in logs:
            out.close()


# --- baselines: bare Streamlit pages -------------------------------------------------------

BARE_PAGE = "import streamlit as st\n\nst.title('Голая страница')\nst.write('Готово')\n"
BARE_NAV = '''import pandas as pd
import streamlit as st


def first() -> None:
    st.title("Первая")
    st.write("Первая страница")


def second() -> None:
    st.title("Вторая")
    st.write("Вторая страница")
    st.download_button("Скачать", b"x" * 4096, "bare.bin")


def table() -> None:
    # One list page of ours, bare: 25 rows of 8 text columns, a row picks a card.
    st.title("Таблица")
    event = st.dataframe(pd.DataFrame([{f"Колонка {c}": f"Значение {r}-{c}" for c in range(8)}
                                       for r in range(25)]),
                         key="bare_rows", on_select="rerun", selection_mode="single-row",
                         hide_index=True, width="stretch")
    rows = event.selection.rows
    st.subheader(f"Выбрана строка {rows[0]}" if rows else "Строка не выбрана")


def form() -> None:
    # A filter form of ours, bare: 12 widgets in an st.form.
    st.title("Форма")
    with st.form("bare_form"):
        left, right = st.columns(2)
        for n in range(4):
            left.text_input(f"Поле {n}")
            right.selectbox(f"Список {n}", ["Все", "Первый", "Второй"])
        left.date_input("С", value=None)
        right.date_input("По", value=None)
        left.number_input("Сумма от", value=None)
        st.form_submit_button("Показать")


st.navigation([st.Page(first, title="Первая", url_path="first", default=True),
               st.Page(second, title="Вторая", url_path="second"),
               st.Page(table, title="Таблица", url_path="table"),
               st.Page(form, title="Форма", url_path="form")]).run()
'''
BARE_TEXT = '[data-testid="stMarkdownContainer"] p'
# The bare switches: to a page of one st.write (the baseline of every click), and, to
# tell the browser's part of a page from ours, to a 25-row table and a 12-widget form.
BARE_TARGETS = {
    "switch": Target("Вторая", BARE_TEXT, what="one st.write"),
    "table switch": Target("Таблица", ROW, what="a 25-row st.dataframe's first row"),
    "form switch": Target("Форма", '[data-testid="stForm"] input', what="a 12-widget form"),
}


def nav_link(page: Any, title: str) -> Any:
    return page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)


def bare_servers(work: Path) -> dict[str, Server]:
    """The baselines' two apps, written to a folder of their own."""
    folder = work / "bare"
    folder.mkdir(exist_ok=True)
    (folder / "page.py").write_text(BARE_PAGE)
    (folder / "nav.py").write_text(BARE_NAV)
    env = dict(os.environ)
    return {"bare page": streamlit_server(folder / "page.py", env, work / "bare-page.log"),
            "bare nav": streamlit_server(folder / "nav.py", env, work / "bare-nav.log")}


def bare_baselines(browser: Any, bases: dict[str, str], passes: int, views: Views) -> None:
    """The bare page's load, and the bare navigation's page switch, cold and warm."""
    base = bases["bare page"]
    for _ in range(passes):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        wire = Wire()
        wire.attach(page)
        views.add("bare page load", timed(
            page, wire, lambda: page.goto(base),
            shown(page, Target("Голая страница", BARE_TEXT))))
        context.close()
    base = bases["bare nav"]
    for _ in range(passes):
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = context.new_page()
        wire = Wire()
        wire.attach(page)
        page.goto(base)
        shown(page, Target("Первая", BARE_TEXT))()
        settle(page)
        for label in ("cold", "warm"):
            for name, target in BARE_TARGETS.items():
                views.add(f"bare {name} {label}", timed(
                    page, wire, lambda: nav_link(page, target.title).click(),
                    shown(page, target)))
                nav_link(page, "Первая").click()
                shown(page, Target("Первая", BARE_TEXT))()
                settle(page)
        # A row's click to what the rerun draws of it, as a card opens from its row:
        # st.dataframe sends a selection only after a 150 ms debounce of its own.
        nav_link(page, "Таблица").click()
        shown(page, BARE_TARGETS["table switch"])()
        settle(page)
        for index, label in ((0, "first"), (1, "next")):
            views.add(f"bare row click {label}", timed(
                page, wire, lambda: click_row(page, index),
                shown(page, Target("Таблица", "h3", text=f"Выбрана строка {index}"))))
        nav_link(page, "Вторая").click()
        shown(page, Target("Вторая", BARE_TEXT))()
        settle(page)
        views.add("bare download", _download(page, page.get_by_role("button",
                                                                     name="Скачать")))
        context.close()


def _download(page: Any, button: Any) -> View:
    start = time.perf_counter()
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        button.click()
    path = info.value.path()
    ms = (time.perf_counter() - start) * 1000
    return View(ms, file_bytes=Path(path).stat().st_size)


# --- the dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class Admin:
    login: str
    secret_file: Path

    def code(self) -> str:
        return _next_code(self.secret_file.read_text().split()[0], self.secret_file)


def admins(database_url: str, work: Path, count: int) -> list[Admin]:
    """``count`` measuring administrators, each enrolled in the second factor with its own
    secret file: one per pass, so no login waits for the next TOTP step."""
    from sqlalchemy import select

    from benchmarks.common import bench_app
    from core.actors import StaffRole
    from core.db.models import StaffUser
    from core.staff import members, second_factor

    app = bench_app(database_url, work)
    found = []
    for number in range(1, count + 1):
        login = f"bench-browser-{number}"
        secret_file = work / f"{login}.totp"
        with app.uow(write=False) as uow:
            known = uow.session.scalar(select(StaffUser.id).where(StaffUser.login == login))
        if known is None:
            members.add_staff(app, None, login=login, name=f"Замер Браузера {number}",
                              role=StaffRole.ADMIN, email=f"{login}@office.example.ru",
                              password=BENCH_PASSWORD)
        if known is None or not secret_file.exists():
            if known is not None:  # enrolled by a run whose folder is gone
                members.reset_second_factor(app, None, known)
            started = members.login(app, login, BENCH_PASSWORD)
            enrolment = second_factor.start_enrolment(app, started.session_token)
            secret_file.write_text(f"{enrolment.secret}\n-1")
            second_factor.confirm_enrolment(app, started.session_token,
                                            _next_code(enrolment.secret, secret_file))
            members.logout(app, started.session_token)
        found.append(Admin(login, secret_file))
    app.engine.dispose()
    return found


LOGIN_FIELD = "Логин"
CODE_FIELD = "Код из приложения или резервный код"


def staff_login(page: Any, wire: Wire, base: str, admin: Admin, views: Views) -> None:
    """The form's first load, the password step, the code step to the landing page."""
    views.add("login form first load", timed(
        page, wire, lambda: page.goto(base),
        visible(page, "input", label=LOGIN_FIELD)))
    page.get_by_label(LOGIN_FIELD).fill(admin.login)
    page.get_by_label("Пароль", exact=True).fill(BENCH_PASSWORD)
    views.add("login password step", timed(
        page, wire, lambda: page.get_by_role("button", name="Войти").click(),
        visible(page, "input", label=CODE_FIELD)))
    page.get_by_label(CODE_FIELD, exact=True).fill(admin.code())
    views.add("login to landing", timed(
        page, wire, lambda: page.get_by_role("button", name="Подтвердить").click(),
        shown(page, DASHBOARD_PAGES["customers"])))  # where an administrator lands


CUSTOMER_CARD = Target("Клиенты", '[role="tab"]', text="История действий",
                       what="the card's tabs")
CARD_TAB = "Платежи"  # of the customer card: the heaviest customer's payments
PAYMENT_CARD = Target("Платежи", "h3", text="Платёж №", what="the card's heading")
SEARCH_RESULT = Target("Клиенты", ROW, what="the result's first row")
SEARCH_FIELD = "Поиск: телефон, e-mail, ФИО, лицевой счёт или номер платежа"


def navigation(page: Any) -> list[tuple[str, Any]]:
    """(page key, its sidebar link) in the menu's order; the landing page's link is «/»."""
    found = []
    for link in page.get_by_test_id("stSidebarNav").locator("a").all():
        path = (link.get_attribute("href") or "").rstrip("/").rsplit("/", 1)[-1]
        found.append((path if path in DASHBOARD_PAGES else "customers", link))
    return found


def click_row(page: Any, index: int = 0) -> None:
    """A row's selection box in the first visible st.dataframe (a canvas: no DOM cells);
    rows are 35 px under a 35 px header (as tests/browser/harness.py does)."""
    grid = page.get_by_test_id("stDataFrame").filter(visible=True).first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None, "the table is not on screen"
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * index + 17)


def dashboard_pass(browser: Any, base: str, admin: Admin, phone: str, views: Views,
                   peer: PeerCase | None = None) -> None:
    """One pass: a fresh context, the login, every page cold then warm, the search by
    phone (twice), the customer's card, the export, the payment's card (first, then the
    next row's), and ours of the peer's steps."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    wire = Wire()
    wire.attach(page)
    try:
        staff_login(page, wire, base, admin, views)
        settle(page)
        keys = [key for key, _ in navigation(page)]
        # The landing page (already shown) last: the round starts by leaving it.
        keys = [k for k in keys if k != "customers"] + ["customers"]
        for label in ("cold", "warm"):
            for key in keys:
                link = dict(navigation(page))[key]
                views.add(f"page {key} {label}", timed(
                    page, wire, link.click, shown(page, DASHBOARD_PAGES[key])))
        page.get_by_label(SEARCH_FIELD).fill(phone)
        for label in ("", " again"):
            views.add(f"search by phone{label}", timed(
                page, wire, lambda: page.get_by_role("button", name="Найти").click(),
                shown(page, SEARCH_RESULT)))
        # Once per pass: after «Закрыть карточку» a click on the same row again opens
        # nothing (the table's selection did not change for the server).
        views.add("customer card first", timed(
            page, wire, lambda: click_row(page), shown(page, CUSTOMER_CARD)))
        # Only the open tab is drawn: a switch to another reruns the card.
        views.add("customer card tab", timed(
            page, wire, lambda: page.get_by_role("tab", name=CARD_TAB, exact=True).click(),
            lambda: page.wait_for_function(_TAB_SHOWN, arg=CARD_TAB, timeout=TIMEOUT_MS,
                                           polling="raf")))
        views.add("excel export click to file", _export(page, wire))
        dict(navigation(page))["payments"].click()
        shown(page, DASHBOARD_PAGES["payments"])()
        settle(page)
        views.add("payment card first", timed(
            page, wire, lambda: click_row(page), shown(page, PAYMENT_CARD)))
        # Warm: the next row's card while one is open (the address names the new one).
        opened = page.url
        views.add("payment card next", timed(
            page, wire, lambda: click_row(page, 1),
            lambda: (page.wait_for_url(lambda url: url != opened, timeout=TIMEOUT_MS),
                     shown(page, PAYMENT_CARD)())))
        if peer is not None:
            page.get_by_role("button", name="Закрыть карточку").click()
            settle(page)
            peer_steps_ours(page, wire, peer, views)
    finally:
        context.close()


def _export(page: Any, wire: Wire) -> View:
    """«Выгрузить в Excel» of the search result, then «Скачать файл»: click to file."""
    before = wire.snapshot()
    start = time.perf_counter()
    page.get_by_role("button", name="Выгрузить в Excel").click()
    visible(page, "button", text="Скачать файл")()
    button = page.get_by_role("button", name="Скачать файл")
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        button.click()
    size = Path(info.value.path()).stat().st_size
    ms = (time.perf_counter() - start) * 1000
    settle(page)
    after = wire.snapshot()
    return View(ms, after[0] - before[0], after[1] - before[1], after[2] - before[2],
                file_bytes=size)


def heaviest_customer(database_url: str) -> tuple[int, str]:
    """(id, phone) of the cabinet with the most payments: the heaviest card there is."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        found = conn.execute(text(
            "SELECT c.id, c.phone FROM customers c JOIN (SELECT customer_id, count(*) AS n"
            " FROM payments WHERE customer_id IS NOT NULL GROUP BY customer_id"
            " ORDER BY n DESC LIMIT 1) p ON p.customer_id = c.id")).one()
    engine.dispose()
    return int(found[0]), str(found[1])


# --- the peer: Django admin -----------------------------------------------------------------


@dataclass(frozen=True)
class PeerCase:
    """What both sides look up: a provider (the one with most paid payments) and its
    name, a payment number, the heaviest customer's phone."""

    status: str
    status_label: str
    provider_id: int
    provider_name: str
    payment_id: int
    phone: str


def peer_case(database_url: str, phone: str) -> PeerCase:
    from sqlalchemy import create_engine, text

    from core.payments.machine import STATUS_LABELS, PaymentStatus

    paid = PaymentStatus.SUCCEEDED
    engine = create_engine(database_url)
    with engine.connect() as conn:
        provider_id, name = conn.execute(text(
            "SELECT p.id, p.name FROM providers p JOIN (SELECT provider_id, count(*) AS n"
            " FROM payments WHERE status = :s GROUP BY provider_id ORDER BY n DESC LIMIT 1) x"
            " ON x.provider_id = p.id"), {"s": paid.value}).one()
        payment_id = conn.execute(text(
            "SELECT id FROM payments ORDER BY id DESC LIMIT 1 OFFSET 100")).scalar_one()
    engine.dispose()
    return PeerCase(paid.value, STATUS_LABELS[paid], int(provider_id), str(name),
                    int(payment_id), phone)


PAYMENT_ROW = Target("Платежи", ROW, what="the list's first row")


def _choose(page: Any, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).first.click()


def peer_steps_ours(page: Any, wire: Wire, case: PeerCase, views: Views) -> None:
    """On «Платежи»: a payment number, then a status + provider filter, each «Показать»
    twice (cold, warm). The customer by phone and the payment's card are timed above."""
    show = page.get_by_role("button", name="Показать")
    page.get_by_label("Номер платежа", exact=True).fill(str(case.payment_id))
    for label in ("cold", "warm"):
        views.add(f"ours payment number {label}", timed(
            page, wire, show.click, shown(page, PAYMENT_ROW)))
    page.get_by_label("Номер платежа", exact=True).fill("")
    _choose(page, "Статус", case.status_label)
    _choose(page, "Поставщик", case.provider_name)
    for label in ("cold", "warm"):
        views.add(f"ours status provider filter {label}", timed(
            page, wire, show.click, shown(page, PAYMENT_ROW)))


def peer_server(database_url: str, work: Path) -> Server:
    from benchmarks.django_peer import serve

    env = serve.environment(database_url, work)
    done = subprocess.run([sys.executable, "-m", "benchmarks.django_peer.serve"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the Django peer could not be prepared: {done.stderr[-3000:]}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return Server(serve.command(port), env, work / "browser-django.log",
                  f"{base}/admin/login/", base)


DJANGO_ROW = "#result_list tbody tr"
DJANGO_FORM = "#payment_form .submit-row"


def peer_pass(browser: Any, base: str, case: PeerCase, views: Views) -> None:
    """Django admin in a fresh context: its login, then each page cold and warm (a page
    is a full navigation, as a click on its link is)."""
    from urllib.parse import quote

    from benchmarks.django_peer import serve

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", serve.LOGIN)
        page.fill("#id_password", serve.PASSWORD)
        page.click('input[type="submit"]')
        page.wait_for_selector("#content", timeout=TIMEOUT_MS)
        admin = f"{base}/admin/django_peer"
        pages = {
            "status provider filter": (f"{admin}/payment/?status__exact={case.status}"
                                       f"&provider__id__exact={case.provider_id}", DJANGO_ROW),
            "payment number": (f"{admin}/payment/?q={case.payment_id}", DJANGO_ROW),
            "phone": (f"{admin}/customer/?q={quote(case.phone)}", DJANGO_ROW),
            "payment page": (f"{admin}/payment/{case.payment_id}/change/", DJANGO_FORM),
        }
        for name, (url, css) in pages.items():
            for label in ("cold", "warm"):
                start = time.perf_counter()
                page.goto(url, wait_until="commit")
                visible(page, css)()
                ms = (time.perf_counter() - start) * 1000
                page.wait_for_load_state("load")
                views.add(f"django {name} {label}", View(ms, dom_nodes=int(page.evaluate(_DOM))))
    finally:
        context.close()


PEER_PAIRS = (
    ("payments with a status + provider filter", "ours status provider filter",
     "django status provider filter"),
    ("payments searched by number", "ours payment number", "django payment number"),
    ("a customer found by phone", "search by phone", "django phone"),
    ("one payment's page", "payment card", "django payment page"),
)


def peer_figures(views: Views) -> list[Figure]:
    """Ours / Django for each pair, cold and warm: goal <= 1.0 warm."""
    figures = []
    for label, ours, theirs in PEER_PAIRS:
        for kind in ("cold", "warm"):
            if ours == "search by phone":
                mine = ours if kind == "cold" else f"{ours} again"
            elif ours == "payment card":
                mine = f"{ours} {'first' if kind == 'cold' else 'next'}"
            else:
                mine = f"{ours} {kind}"
            figures.append(figure(f"peer: {label}, {kind}: ours vs Django admin",
                                  views.median(mine), "ms", "Django admin (gunicorn), same view",
                                  views.median(f"{theirs} {kind}"),
                                  "<= 1.0 warm" if kind == "warm" else "reported", digits=1))
    return figures


# --- the cabinet ---------------------------------------------------------------------------

CABINET_PAGES: dict[str, Target] = {
    "invoices": Target("Счета к оплате", f'[data-testid="stExpander"], {ALERT}',
                       what="the first invoice's card"),
    "payment": Target("Оплата", f"{ALERT}, h3", what="the step or its hint"),
    "history": Target("История операций", f"{ROW}, {ALERT}", what="the table's first row"),
    "settings": Target("Настройки", '[data-testid="stTextInput"] input',
                       what="the personal data's fields"),
}


def cabinet_customer(database_url: str) -> str:
    """The phone of the activated, unblocked cabinet with the most payments."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        phone = conn.execute(text(
            "SELECT c.phone FROM customers c JOIN (SELECT customer_id, count(*) AS n"
            " FROM payments WHERE customer_id IS NOT NULL GROUP BY customer_id) p"
            " ON p.customer_id = c.id WHERE c.activated_at IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM cabinet_blocks b WHERE b.customer_id = c.id"
            " AND b.lifted_at IS NULL) ORDER BY p.n DESC LIMIT 1")).scalar_one()
    engine.dispose()
    return str(phone)


def cabinet_pass(browser: Any, base: str, phone: str, views: Views) -> None:
    """A customer's login (the demo's password), then every page cold and warm."""
    from core.demo.rich import DEMO_PASSWORD

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    wire = Wire()
    wire.attach(page)
    try:
        views.add("cabinet login form first load", timed(
            page, wire, lambda: page.goto(base),
            visible(page, "input", label="Телефон")))
        page.get_by_label("Телефон").fill(phone)
        page.get_by_label("Пароль", exact=True).fill(DEMO_PASSWORD)
        views.add("cabinet login to landing", timed(
            page, wire, lambda: page.get_by_role("button", name="Войти").click(),
            shown(page, CABINET_PAGES["invoices"])))
        keys = [k for k in CABINET_PAGES if k != "invoices"] + ["invoices"]
        for label in ("cold", "warm"):
            for key in keys:
                link = page.get_by_test_id("stSidebarNav").locator(
                    f'a[href$="/{key}"]' if key != "invoices" else 'a[href$="/"]')
                views.add(f"cabinet {key} {label}", timed(
                    page, wire, link.first.click, shown(page, CABINET_PAGES[key])))
    finally:
        context.close()


# --- the figures ----------------------------------------------------------------------------


def _fig(views: Views, name: str, label: str, baseline: str, baseline_label: str,
         target: str) -> Figure:
    return figure(f"browser: {label}", views.median(name), "ms", baseline_label,
                  views.median(baseline), target, digits=1)


def dashboard_figures(views: Views) -> list[Figure]:
    cold, warm = "bare switch cold", "bare switch warm"
    cold_label = "bare st.navigation switch, cold"
    warm_label = "bare st.navigation switch, warm"
    figures = [
        _fig(views, "login form first load", "login form first load", "bare page load",
             "bare st.write page load", FORM_TARGET),
        _fig(views, "login password step", "login: password to the code step", cold,
             cold_label, "reported"),
        _fig(views, "login to landing", "login: code to the landing page's content", cold,
             cold_label, COLD_TARGET),
    ]
    runs = statistics.median(v.runs for v in views.by_name["login to landing"])
    bare_runs = statistics.median(v.runs for v in views.by_name["bare page load"])
    figures.append(figure("browser: script runs per login (code step to landing, settled)",
                          runs, "runs", "bare page load's runs", bare_runs, "1 run", digits=1))
    steps = ("login form first load", "login password step", "login to landing")
    every = statistics.median(sum(views.by_name[step][i].runs for step in steps)
                              for i in range(len(views.by_name["login to landing"])))
    figures.append(figure("browser: script runs per login (form, password, code: all)",
                          every, "runs", "bare page load's runs", bare_runs, "reported",
                          digits=1))
    for name in sorted(n for n in views.by_name if n.startswith("page ")):
        _, key, label = name.split()
        figures.append(_fig(
            views, name, f"page «{key}» {label} ({DASHBOARD_PAGES[key].what})",
            cold if label == "cold" else warm, cold_label if label == "cold" else warm_label,
            COLD_TARGET if label == "cold" else WARM_TARGET))
    for name in ("table switch", "form switch"):
        for label in ("cold", "warm"):
            figures.append(_fig(
                views, f"bare {name} {label}",
                f"bare st.navigation switch to {BARE_TARGETS[name].what}, {label}",
                cold if label == "cold" else warm, cold_label if label == "cold" else warm_label,
                "reported"))
    for label in ("first", "next"):
        figures.append(_fig(views, f"bare row click {label}",
                            f"bare st.dataframe row click to what its rerun draws, {label}",
                            warm, warm_label, "reported"))
    figures.append(_fig(views, "search by phone", "«Клиенты»: search by phone to first row",
                        warm, warm_label, WARM_TARGET))
    cards = (("customer card first", "customer card, first open by its row"),
             ("payment card first", "payment card, first open by its row"),
             ("payment card next", "payment card, the next row's while one is open"))
    for name, label in cards:
        figures.append(_fig(views, name, label, warm, warm_label, CARD_TARGET))
    figures.append(_fig(views, "customer card tab",
                        f"customer card, a switch to «{CARD_TAB}» to its table's first row",
                        "bare table switch warm", "bare st.navigation switch to a 25-row "
                        "st.dataframe's first row, warm", CARD_TARGET))
    for name, label in cards:  # beside the bare row click (its 150 ms debounce included)
        bare = f"bare row click {'next' if name.endswith('next') else 'first'}"
        figures.append(_fig(views, name, f"{label}, vs a bare row click", bare,
                            f"bare st.dataframe row click, {bare.split()[-1]}", CARD_TARGET))
    for name in sorted(n for n in views.by_name if n.startswith("cabinet ")):
        label = name.split()[-1]
        if label in ("cold", "warm"):
            key = name.split()[1]
            figures.append(_fig(
                views, name, f"cabinet «{key}» {label} ({CABINET_PAGES[key].what})",
                cold if label == "cold" else warm,
                cold_label if label == "cold" else warm_label,
                COLD_TARGET if label == "cold" else WARM_TARGET))
    figures.append(_fig(views, "cabinet login form first load", "cabinet: login form first load",
                        "bare page load", "bare st.write page load", FORM_TARGET))
    figures.append(_fig(views, "cabinet login to landing", "cabinet: login to «Счета к оплате»",
                        cold, cold_label, COLD_TARGET))
    cabinet_runs = statistics.median(v.runs for v in views.by_name["cabinet login to landing"])
    figures.append(figure("browser: cabinet script runs per login (submit to landing, settled)",
                          cabinet_runs, "runs", "bare page load's runs", bare_runs, "1 run",
                          digits=1))
    figures.append(_fig(views, "excel export click to file",
                        "Excel export of the search result, click to file", "bare download",
                        "bare st.download_button click to file", "reported"))
    return figures


def run(database_url: str, work: Path, scale: str, profile: dict[str, object],
        passes: int = 5, peer: bool = True) -> list[Figure]:
    """Every figure of the browser part; ``profile`` gets what each view waited for."""
    from playwright.sync_api import sync_playwright

    why = available()
    if why:
        raise RuntimeError(f"the browser part cannot run: {why}")
    views = Views()
    _, phone = heaviest_customer(database_url)
    customer_phone = cabinet_customer(database_url)
    why_not_peer = peer_available() if peer else "not asked for"
    case = peer_case(database_url, phone) if why_not_peer is None else None
    staff = admins(database_url, work, passes)
    env = dict(os.environ, **dashboard_settings(database_url, work))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        version = browser.version
        try:
            servers = {**bare_servers(work),
                       "dashboard": streamlit_server(ROOT / "dashboard" / "server.py", env,
                                                     work / "browser-dashboard.log"),
                       "cabinet": streamlit_server(ROOT / "cabinet" / "server.py", env,
                                                   work / "browser-cabinet.log")}
            if case is not None:
                servers["django"] = peer_server(database_url, work)
            with serving(servers) as bases:
                bare_baselines(browser, bases, passes, views)
                for admin in staff:
                    dashboard_pass(browser, bases["dashboard"], admin, phone, views, case)
                if case is not None:
                    for _ in range(passes):
                        peer_pass(browser, bases["django"], case, views)
                for _ in range(passes):
                    cabinet_pass(browser, bases["cabinet"], customer_phone, views)
        finally:
            browser.close()
    figures = dashboard_figures(views)
    if case is not None:
        figures += peer_figures(views)
    else:
        print(f"… browser: the Django peer skipped, {why_not_peer}", file=sys.stderr)
    profile.update({"passes": passes, "scale": scale, "chromium": version,
                    "baselines": {"cold": "bare switch cold", "warm": "bare switch warm",
                                  "load": "bare page load"},
                    "targets": {key: t.what for key, t in DASHBOARD_PAGES.items()},
                    "peer": ({"server": "gunicorn, 1 worker, 2 threads", "case": asdict(case)}
                             if case is not None else {"skipped": why_not_peer}),
                    "views": {name: views.profile(name) for name in views.by_name}})
    return figures


def table(profile: dict[str, Any]) -> str:
    """The per-page table (markdown) of a run's profile: cold and warm median ms, each
    with its bare baseline and ratio, and what the warm view carried."""
    views = profile["views"]
    cold, warm = views["bare switch cold"], views["bare switch warm"]
    lines = ["| page | cold ms | warm ms | bare cold / warm ms | ratio cold / warm "
             "| ws KB (warm) | ws msgs | DOM nodes | plotly KB |",
             "|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({name.split()[1] for name in views if name.startswith("page ")})
    rows = [(f"«{k}»", f"page {k} cold", f"page {k} warm") for k in keys]
    rows += [(f"cabinet «{k}»", f"cabinet {k} cold", f"cabinet {k} warm")
             for k in CABINET_PAGES if f"cabinet {k} cold" in views]
    for label, c, w in rows:
        vc, vw = views[c], views[w]
        lines.append(
            f"| {label} | {vc['median_ms']:.0f} | {vw['median_ms']:.0f} "
            f"| {cold['median_ms']:.0f} / {warm['median_ms']:.0f} "
            f"| {vc['median_ms'] / cold['median_ms']:.1f} / "
            f"{vw['median_ms'] / warm['median_ms']:.1f} "
            f"| {vw['ws_bytes'] / 1024:.0f} | {vw['ws_messages']} | {vw['dom_nodes']} "
            f"| {vw['plotly_json_bytes'] / 1024:.0f} |")
    if "django phone cold" in views:
        lines += ["", "| peer view | ours cold | Django cold | ratio | ours warm | Django warm "
                  "| ratio warm |", "|---|---|---|---|---|---|---|"]
        for label, ours, theirs in PEER_PAIRS:
            mine = {"search by phone": ("search by phone", "search by phone again"),
                    "payment card": ("payment card first", "payment card next")}.get(
                ours, (f"{ours} cold", f"{ours} warm"))
            oc, ow = views[mine[0]]["median_ms"], views[mine[1]]["median_ms"]
            dc = views[f"{theirs} cold"]["median_ms"]
            dw = views[f"{theirs} warm"]["median_ms"]
            lines.append(f"| {label} | {oc:.0f} | {dc:.0f} | {oc / dc:.2f} | {ow:.0f} "
                         f"| {dw:.0f} | {ow / dw:.2f} |")
    others = [n for n in views if not n.startswith(("page ", "cabinet ", "django ", "ours "))
              or "login" in n]
    lines += ["", "| view | median ms | all passes ms | ws KB | runs | DOM nodes |",
              "|---|---|---|---|---|---|"]
    for name in others:
        v = views[name]
        lines.append(f"| {name} | {v['median_ms']:.0f} | "
                     f"{', '.join(f'{x:.0f}' for x in v['all_ms'])} | "
                     f"{v['ws_bytes'] / 1024:.0f} | {v['script_runs']} | {v['dom_nodes']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    # The table of the last run: python -m benchmarks.browser [results/latest.json]
    import json

    results = ROOT / "benchmarks" / "results"
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else results / "latest.json"
    print(table(json.loads(source.read_text())["profile"]["browser"]))
