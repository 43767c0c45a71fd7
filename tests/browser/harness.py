"""What every real-browser test needs: Debian's chromium through Playwright (skipped,
saying why, where either is missing), a test app on a SQLite file, and `streamlit run`
serving the dashboard (or the customer's cabinet, ``CABINET``) on that file."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.customers.captcha import StaticCaptcha
from core.app import App, build_app
from core.config import FAST_HASHING, Settings
from core.db.engine import make_engine
from core.db.migrate import upgrade
from tests.conftest import TEST_SECRETS
from tests.factories.customers import STAFF_PASSWORD
from tests.factories.second_factor import SECRETS

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-quic"]
TIMEOUT = 30_000
DASHBOARD = ROOT / "dashboard" / "server.py"
CABINET = ROOT / "cabinet" / "server.py"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
sync_api.expect.set_options(timeout=TIMEOUT)  # two busy cores make 5 s flaky
if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium is not installed (apt-get install chromium)",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_app(work: Path) -> App:
    """An app on a fresh, migrated SQLite file in ``work`` (the server uses the same)."""
    url = f"sqlite:///{work / 'app.db'}"
    upgrade(make_engine(url))
    settings = Settings(database_url=url, secrets_file=work / "secrets.toml",
                        notify_log_dir=work / "notify", hashing=FAST_HASHING,
                        gateway_state_file=work / "acquirer.db")
    return build_app(settings, captcha=StaticCaptcha("ok"), secrets=TEST_SECRETS)


test_app.__test__ = False  # type: ignore[attr-defined]  # a factory, not a test


@contextmanager
def streamlit_server(app: App, work: Path, script: Path = DASHBOARD) -> Iterator[str]:
    """`streamlit run dashboard/server.py` (the back office with its security headers), or
    another entry script such as ``CABINET``, on the app's database, its own free port and
    the app's message log directory; yields its base URL."""
    env = dict(os.environ, DATABASE_URL=app.settings.database_url,
               APP_SECRETS_FILE=str(work / "secrets.toml"),
               STAFF_COOKIE_KEY=TEST_SECRETS.cookie_key,
               APP_HMAC_KEY=TEST_SECRETS.hmac_key.decode(), APP_FAST_HASHING="1",
               NOTIFY_LOG_DIR=str(work / "notify"),
               GATEWAY_STATE_FILE=str(work / "acquirer.db"))
    port = free_port()
    log_file = work / ("streamlit.log" if script == DASHBOARD
                       else f"streamlit-{script.parent.name}.log")
    log = log_file.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script),
         "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not start: " + log_file.read_text())
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextmanager
def served(work: Path) -> Iterator[tuple[App, str]]:
    """A test app on a fresh SQLite file in ``work`` and `streamlit run` serving it."""
    app = test_app(work)
    try:
        with streamlit_server(app, work) as base:
            yield app, base
    finally:
        app.engine.dispose()


@contextmanager
def chromium() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield instance
        instance.close()


_IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null && app.getAttribute('data-test-script-state') === 'notRunning';
}"""


def settled(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until no script run is under way, twice over: right after the login the
    cookie component triggers one more rerun, which would eat what is typed meanwhile."""
    page.wait_for_function(_IDLE)
    page.wait_for_timeout(700)
    page.wait_for_function(_IDLE)


def page_shown(page, title: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for the page; during a rerun Streamlit may briefly show the previous
    run's copy beside the new one, so wait until exactly one remains."""
    sync_api.expect(page.get_by_role("heading", name=title)).to_have_count(1)
    settled(page)


_USED_STEPS: dict[str, int] = {}  # login -> the last TOTP step typed here (never twice)


def totp_code(login_name: str) -> str:
    """A code of the member's secret the server has not seen: this step's, or the next
    one's (accepted as clock drift) when this step was used already."""
    import pyotp

    from core.staff import totp

    step = max(int(time.time()) // totp.STEP_SECONDS, _USED_STEPS.get(login_name, -1) + 1)
    _USED_STEPS[login_name] = step
    return pyotp.TOTP(SECRETS[login_name]).at(step * totp.STEP_SECONDS)


def login(page, base: str, login_name: str,  # type: ignore[no-untyped-def]
          password: str = STAFF_PASSWORD) -> None:
    """The login form, then the second step where there is one: an administrator or
    finance member without a second factor enrols (the key read off the page, as a
    person types it into the app), one with a secret known here types its code."""
    page.goto(base)
    page.get_by_label("Логин").fill(login_name)
    page.get_by_label("Пароль", exact=True).fill(password)
    page.get_by_role("button", name="Войти").click()
    settled(page)
    if page.get_by_role("heading", name="Вход: подключите двухфакторный вход").count():
        enrol_in_page(page, login_name)
        page.get_by_role("button", name="Коды сохранены, продолжить").click()
    elif page.get_by_role("heading", name="Вход: код двухфакторного входа").count():
        page.get_by_label("Код из приложения или резервный код",
                          exact=True).fill(totp_code(login_name))
        page.get_by_role("button", name="Подтвердить").click()


def enrol_in_page(page, login_name: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Scan-by-typing: the key shown under the QR code, the first code; the recovery
    codes the page then shows once."""
    SECRETS[login_name] = page.get_by_test_id("stCode").first.inner_text().replace(" ", "")
    page.get_by_label("Код из приложения", exact=True).fill(totp_code(login_name))
    page.get_by_role("button", name="Подключить").click()
    sync_api.expect(page.get_by_role("button", name="Коды сохранены, продолжить")).to_be_visible()
    # The login's cookie triggers one more rerun here; a click during it may be lost.
    settled(page)
    return page.get_by_test_id("stCode").first.inner_text().split()


def click_row(page, index: int = 0, table: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Click a row's selection box in the ``table``-th visible st.dataframe (a canvas
    grid: no DOM cells to click); the box is the first column, rows are 35 px under a
    35 px header. Tables on tabs not shown do not count."""
    grid = page.get_by_test_id("stDataFrame").filter(visible=True).nth(table)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None, "the table is not on screen"
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * index + 17)
    settled(page)
