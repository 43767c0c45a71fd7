"""What a security review checks in a real headless Chromium against `streamlit run`:
the response headers, no «Download as CSV» of a table with personal data, a picture in
someone's text never fetched, and a tab after «Выйти» that keeps nothing of the last
member (no card, no prepared file, no links of their role, no file at its /media URL).

Debian's chromium driven by Playwright (no browser download). Skipped, saying why,
where chromium or playwright is missing.
"""
from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from core.actors import StaffRole
from core.customers import contact_center
from tests.browser.harness import (  # skips the module without chromium or playwright
    TIMEOUT, click_row, free_port, login, page_shown, settled, sync_api,
)
from tests.factories.customers import make_staff, register_and_activate

pytestmark = pytest.mark.browser


class _Tracker(BaseHTTPRequestHandler):
    """A «remote image» host: it only counts who asks."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        _Tracker.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tracker() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", free_port()), _Tracker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _status(url: str) -> int:
    """What a plain HTTP client (no cookie, no session) gets at ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_every_answer_carries_the_security_headers(server):
    with urllib.request.urlopen(str(server["base"]) + "/", timeout=10) as answer:
        headers = answer.headers
    policy = headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob:" in policy
    assert "frame-ancestors 'self'" in policy
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_an_agent_sees_text_not_a_tracking_pixel_and_no_csv_download(server, browser, tracker):
    app, base = server["app"], str(server["base"])
    customer = register_and_activate(app, phone="+79995550101")
    admin = make_staff(app, StaffRole.ADMIN)
    reason = f"Мошенник ![pixel]({tracker}/pixel.gif) [подробнее]({tracker}/link)"
    contact_center.block(app, admin, customer.customer_id, reason)
    agent = make_staff(app, StaffRole.AGENT)
    _Tracker.hits.clear()

    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    expect = sync_api.expect
    try:
        login(page, base, agent.login)
        page_shown(page, "Клиенты")
        page.get_by_label("Поиск: телефон, e-mail, ФИО").fill("8 999 555-01-01")
        page.get_by_role("button", name="Найти").click()
        table = page.get_by_test_id("stDataFrame").first
        expect(table).to_be_visible()
        click_row(page)
        warning = page.get_by_test_id("stAlertContentWarning").filter(has_text="Мошенник")
        expect(warning).to_be_visible()
        # The characters typed, as they were typed (an invisible word joiner apart).
        assert reason in warning.inner_text().replace("\u2060", "")
        expect(warning.locator("img")).to_have_count(0)
        expect(warning.locator("a")).to_have_count(0)
        settled(page)
        page.wait_for_timeout(500)
        assert _Tracker.hits == [], "the agent's browser fetched a remote image"

        # The table's toolbar: it appears on hover; its «Download as CSV» must not.
        table.hover()
        toolbar = page.get_by_test_id("stElementToolbar").first
        expect(toolbar).to_be_attached()
        expect(toolbar.get_by_role("button", name="Search")).to_have_count(1)  # it is there
        expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)
    finally:
        context.close()


def test_after_logout_the_tab_keeps_nothing_of_the_last_member(server, browser):
    app, base = server["app"], str(server["base"])
    register_and_activate(app, phone="+79995550202")
    admin = make_staff(app, StaffRole.ADMIN)
    agent = make_staff(app, StaffRole.AGENT)
    context = browser.new_context(viewport={"width": 1400, "height": 2000},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    expect = sync_api.expect
    nav = page.get_by_test_id("stSidebarNav")
    try:
        login(page, base, admin.login)
        page_shown(page, "Клиенты")
        expect(nav.get_by_role("link", name="Сотрудники")).to_have_count(1)
        page.get_by_label("Поиск: телефон, e-mail, ФИО").fill("8 999 555-02-02")
        page.get_by_role("button", name="Найти").click()
        settled(page)
        click_row(page)
        expect(page.get_by_role("heading", name="ФИО не указано")).to_have_count(1)
        page.get_by_role("button", name="Выгрузить в Excel").click()
        ready = page.get_by_role("button", name="Скачать файл")
        expect(ready).to_be_visible()
        settled(page)
        with page.expect_download() as info:
            ready.click()
        media_url = info.value.url
        assert "/media/" in media_url, media_url

        page.get_by_role("button", name="Выйти").click()
        expect(page.get_by_text("Вы вышли из системы").first).to_be_visible()
        settled(page)
        # Nothing of the admin's is left: the file is gone from its URL, the links too.
        assert _status(media_url) == 404
        expect(nav.get_by_role("link")).to_have_count(0)

        login(page, base, agent.login)
        page_shown(page, "Клиенты")
        expect(page.get_by_role("heading", name="ФИО не указано")).to_have_count(0)
        expect(page.get_by_role("button", name="Скачать файл")).to_have_count(0)
        expect(page.get_by_label("Поиск: телефон, e-mail, ФИО")).to_have_value("")
        expect(nav.get_by_role("link", name="Сотрудники")).to_have_count(0)
        expect(nav.get_by_role("link", name="Клиенты")).to_have_count(1)
    finally:
        context.close()


def test_a_cookie_copied_while_the_member_works_does_not_log_in_elsewhere(server, browser):
    app, base = server["app"], str(server["base"])
    agent = make_staff(app, StaffRole.AGENT)
    context = browser.new_context(user_agent="Mozilla/5.0 (X11; Linux x86_64) Office/1.0")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    expect = sync_api.expect
    try:
        login(page, base, agent.login)
        page_shown(page, "Клиенты")
        page.wait_for_function("document.cookie.includes('utility_backoffice_staff')")
        copied = [c for c in context.cookies() if c["name"] == "utility_backoffice_staff"]
        assert copied and copied[0]["sameSite"] == "Strict", copied
        # The member's own browser: a new tab is let in by the cookie.
        own = context.new_page()
        own.goto(base + "/audit")
        page_shown(own, "Журнал действий")

        # The same cookie in another browser, while the member is still at work.
        thief = browser.new_context(user_agent="Mozilla/5.0 (Windows NT 10.0) Thief/1.0")
        thief.add_cookies(copied)
        stolen = thief.new_page()
        stolen.goto(base + "/audit")
        expect(stolen.get_by_role("button", name="Войти")).to_be_visible()
        expect(stolen.get_by_text("другого устройства или браузера").first).to_be_visible()
        expect(stolen.get_by_role("heading", name="Журнал действий")).to_have_count(0)
        thief.close()
    finally:
        context.close()
