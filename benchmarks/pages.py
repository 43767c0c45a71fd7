"""Every dashboard page's script run (AppTest, logged in as an admin) on a data set, warm,
beside the raw SQL time of the page's main query; the search by each kind of key; and
the dashboard process's peak memory while it renders every page.

AppTest runs the page script in this very process, so a page's figure is what one rerun
costs the server (Streamlit's own overhead included), not the browser's drawing.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from benchmarks.common import Figure, figure, median_ms

ROOT = Path(__file__).resolve().parents[1]
APP_FILE = str(ROOT / "dashboard" / "app.py")
BENCH_PASSWORD = "bench-pass-2026"

# The query each page cannot do without (its first screen), as bare SQL: what the page
# would cost if Streamlit, the services and the ORM were free.
MAIN_QUERY = {
    "home": "SELECT count(*) FROM customers",
    "customers": "SELECT * FROM customers ORDER BY registered_at DESC LIMIT 25",
    "accounts": "SELECT * FROM provider_accounts ORDER BY id DESC LIMIT 25",
    "invoices": "SELECT * FROM invoices ORDER BY id DESC LIMIT 25",
    "payments": "SELECT * FROM payments ORDER BY created_at DESC LIMIT 25",
    "reconciliation": "SELECT * FROM reconciliation_runs ORDER BY id DESC LIMIT 25",
    "payouts": "SELECT * FROM payouts ORDER BY id DESC LIMIT 25",
    "subscriptions": "SELECT channel, count(*) FROM subscriptions GROUP BY channel",
    "analytics": "SELECT * FROM payment_daily_stats WHERE day >= :since",
    "audit": "SELECT * FROM audit_log ORDER BY id DESC LIMIT 25",
    "staff": "SELECT * FROM staff_users ORDER BY id",
}


def dashboard_settings(database_url: str, work: Path) -> dict[str, str]:
    """The environment ``dashboard/app.py`` reads its settings from."""
    return dict(DATABASE_URL=database_url, APP_SECRETS_FILE=str(work / "secrets.toml"),
                STAFF_COOKIE_KEY="b" * 48, APP_HMAC_KEY="bench-key", APP_FAST_HASHING="1",
                STAFF_LOGIN_SLEEP="0", NOTIFY_LOG_DIR=str(work / "notify"),
                GATEWAY_STATE_FILE=str(work / "acquirer.db"),
                BENCH_TOTP_FILE=str(work / "bench-admin.totp"))


@contextmanager
def dashboard_env(database_url: str, work: Path) -> Iterator[None]:
    """This process runs the dashboard (AppTest) with those settings and empty Streamlit
    caches (the app and its engine are cached per process), then forgets both."""
    import streamlit as st

    saved = dict(os.environ)
    os.environ.update(dashboard_settings(database_url, work))
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        yield
    finally:
        st.cache_resource.clear()
        os.environ.clear()
        os.environ.update(saved)


def ensure_admin(database_url: str, work: Path) -> str:
    """The measuring administrator, enrolled in the second factor administrators must
    have; its secret is kept in the work folder for every process that logs in."""
    from sqlalchemy import select

    from core.actors import StaffRole
    from core.db.models import StaffUser
    from core.staff import members, second_factor

    from benchmarks.common import bench_app

    app = bench_app(database_url, work)
    login = "bench-admin"
    secret_file = work / "bench-admin.totp"
    with app.uow(write=False) as uow:
        known = uow.session.scalar(select(StaffUser.id).where(StaffUser.login == login))
    if known is None:
        members.add_staff(app, None, login=login, name="Замер Скорости", role=StaffRole.ADMIN,
                          email="bench@office.example.ru", password=BENCH_PASSWORD)
    if known is None or not secret_file.exists():
        if known is not None:  # enrolled by a run whose folder is gone
            members.reset_second_factor(app, None, known)
        started = members.login(app, login, BENCH_PASSWORD)
        enrolment = second_factor.start_enrolment(app, started.session_token)
        second_factor.confirm_enrolment(app, started.session_token,
                                        _next_code(enrolment.secret, secret_file))
        members.logout(app, started.session_token)
        secret_file.write_text(f"{enrolment.secret}\n{_last_step(secret_file)}")
    app.engine.dispose()
    return login


def _last_step(secret_file: Path) -> int:
    lines = secret_file.read_text().split() if secret_file.exists() else []
    return int(lines[1]) if len(lines) > 1 else -1


def _next_code(secret: str, secret_file: Path) -> str:
    """A code of a step not used yet (the server takes each step once): the bench logs
    in several times a minute, so it waits for the next 30-second step when it must."""
    import pyotp

    from core.staff import totp

    step = int(time.time()) // totp.STEP_SECONDS
    last = _last_step(secret_file)
    if step <= last:
        time.sleep((last + 1) * totp.STEP_SECONDS - time.time() + 0.5)
        step = last + 1
    secret_file.write_text(f"{secret}\n{step}")
    return pyotp.TOTP(secret).at(step * totp.STEP_SECONDS)


def _logged_in(login: str):  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_FILE, default_timeout=120)
    at.run()
    at.text_input[0].input(login)
    at.text_input[1].input(BENCH_PASSWORD)
    at.button[0].click().run()
    secret_file = Path(os.environ["BENCH_TOTP_FILE"])
    if [t for t in at.text_input if t.key == "login_totp_code"]:
        secret = secret_file.read_text().split()[0]
        at.text_input(key="login_totp_code").input(_next_code(secret, secret_file))
        next(b for b in at.button if b.label == "Подтвердить").click().run()
    if at.exception or [t for t in at.text_input if t.key == "login_totp_code"]:
        raise RuntimeError(f"login failed: {at.exception or [e.value for e in at.error]}")
    return at


def page_runs(login: str, repeat: int) -> dict[str, dict[str, float]]:
    """{page: {"cold": ms, "warm": median ms}} for every page an admin sees."""
    from dashboard.access import PAGES

    at = _logged_in(login)
    result: dict[str, dict[str, float]] = {}
    for page in PAGES:
        start = time.perf_counter()
        at.switch_page(page.path).run()
        cold = (time.perf_counter() - start) * 1000
        if at.exception:
            raise RuntimeError(f"{page.key}: {at.exception}")
        result[page.key] = {"cold": cold, "warm": _warm_ms(at, repeat)}
    return result


def _warm_ms(at, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median ms of reruns with nothing changed: what each click elsewhere costs."""
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        at.run()
        warm.append((time.perf_counter() - start) * 1000)
    return statistics.median(warm)


def card_run(login: str, phone: str, repeat: int) -> float:
    """The agents' everyday step: «Клиенты», a phone, «Открыть карточку»; the warm
    rerun of the page with the card open at its «Платежи» tab (only the open tab is read),
    median ms."""
    from dashboard.components.customer_card import card_tab_key

    at = _logged_in(login)
    at.switch_page("views/customers.py").run()
    at.text_input(key="cust_query_input").input(phone)
    next(b for b in at.button if b.label == "Найти").click().run()
    customer_id = at.session_state["cust_row_ids"][0]
    at.query_params["customer"] = str(customer_id)  # its row's click
    at.run()
    at.session_state[card_tab_key(customer_id)] = "Платежи"  # a click on the tab
    at.run()
    if at.exception:
        raise RuntimeError(f"customer card: {at.exception}")
    return _warm_ms(at, repeat)


def bench_customer_card(database_url: str, work: Path, repeat: int = 5) -> Figure:
    """The card of the cabinet with the most payments: the heaviest one there is."""
    from sqlalchemy import create_engine


    engine = create_engine(database_url)
    with engine.connect() as conn:
        customer_id, phone = conn.execute(text(
            "SELECT c.id, c.phone FROM customers c JOIN (SELECT customer_id, count(*) AS n"
            " FROM payments WHERE customer_id IS NOT NULL GROUP BY customer_id"
            " ORDER BY n DESC LIMIT 1) p ON p.customer_id = c.id")).one()
    engine.dispose()
    login = ensure_admin(database_url, work)
    with dashboard_env(database_url, work):
        ours = card_run(login, phone, repeat)
    base = _raw_ms(database_url, "SELECT * FROM payments WHERE customer_id = "
                   f"{int(customer_id)} ORDER BY created_at DESC LIMIT 25")
    return figure("customer card open, warm run", ours, "ms", "raw SQL of its payments page",
                  base, "< 300 ms warm")


def _raw_ms(database_url: str, sql: str) -> float:
    from datetime import date, timedelta

    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    params = {"since": date.today() - timedelta(days=30)} if ":since" in sql else {}
    with engine.connect() as conn:
        ms = median_ms(lambda: conn.execute(text(sql), params).fetchall(), repeat=10)
    engine.dispose()
    return ms


def bench_pages(database_url: str, work: Path, repeat: int = 5) -> list[Figure]:

    login = ensure_admin(database_url, work)
    with dashboard_env(database_url, work):
        runs = page_runs(login, repeat)
    figures = []
    for key, times in runs.items():
        base = _raw_ms(database_url, MAIN_QUERY[key])
        figures.append(figure(f"page «{key}» warm run", times["warm"], "ms",
                              "raw SQL of its main query", base, "< 300 ms warm"))
    return figures


def bench_search(database_url: str, work: Path) -> list[Figure]:
    """The contact centre's search by each key a caller gives, vs the bare SQL lookup."""
    from sqlalchemy import create_engine

    from core.actors import StaffRole
    from core.paging import PageRequest
    from core.customers import contact_center
    from core.staff.members import StaffActor

    from benchmarks.common import bench_app

    app = bench_app(database_url, work)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        phone, email = conn.execute(text(
            "SELECT phone, email FROM customers ORDER BY id DESC LIMIT 1")).one()
        account = conn.execute(text(
            "SELECT a.number FROM account_bindings b JOIN provider_accounts a"
            " ON a.id = b.provider_account_id WHERE b.removed_at IS NULL"
            " ORDER BY b.id DESC LIMIT 1")).scalar_one()
        payment = conn.execute(text(
            "SELECT id FROM payments WHERE customer_id IS NOT NULL"
            " ORDER BY id DESC LIMIT 1")).scalar()
    cases = [("phone", phone, "SELECT * FROM customers WHERE phone = :q", phone),
             ("e-mail", email, "SELECT * FROM customers WHERE email = :q", email),
             ("account number", account,
              "SELECT * FROM provider_accounts WHERE number = :q", account),
             # What a caller dictates: the last seven digits, with dashes («852-96-93»).
             ("last seven phone digits", f"{phone[-7:-4]}-{phone[-4:-2]}-{phone[-2:]}",
              "SELECT * FROM customers WHERE phone = :q", phone)]
    if payment is not None:
        cases.append(("payment number", payment, "SELECT * FROM payments WHERE id = :q",
                      payment))
    agent = StaffActor(0, "bench", StaffRole.AGENT)
    figures = []
    with engine.connect() as conn:
        for label, query, sql, param in cases:
            found = contact_center.search_customers(app, agent, str(query), PageRequest(1, 25))
            if not found.items:
                raise RuntimeError(f"search by {label} found nobody for {query!r}")
            ours = median_ms(lambda q=query: contact_center.search_customers(
                app, agent, str(q), PageRequest(1, 25)))
            base = median_ms(lambda s=sql, p=param: conn.execute(text(s), {"q": p}).fetchall())
            figures.append(figure(f"search by {label}", ours, "ms", "bare SQL lookup", base,
                                  "< 20 ms"))
    engine.dispose()
    app.engine.dispose()
    return figures


def bench_memory(database_url: str, work: Path) -> Figure:
    """Peak RSS of a fresh process rendering every page, vs a fresh process that imports
    Streamlit and runs an empty AppTest script (the floor of any dashboard process)."""
    login = ensure_admin(database_url, work)
    env = dict(os.environ, **dashboard_settings(database_url, work))

    def peak(mode: str) -> float:
        done = subprocess.run([sys.executable, "-m", "benchmarks.pages", mode, login],
                              env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stdout + done.stderr)
        return float(json.loads(done.stdout.strip().splitlines()[-1])["peak_mb"])

    return figure("dashboard peak memory, every page", peak("--render-all"), "MB",
                  "bare Streamlit process", peak("--bare"), "< 600 MB")


def _peak_mb() -> float:
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec, so a child
    # started from a big parent reports the parent's peak.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(mode: str, login: str) -> int:
    if mode == "--render-all":
        page_runs(login, repeat=1)
    else:
        from streamlit.testing.v1 import AppTest

        AppTest.from_string("import streamlit as st\nst.write('x')").run()
    print(json.dumps({"peak_mb": round(_peak_mb(), 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1], sys.argv[2]))
