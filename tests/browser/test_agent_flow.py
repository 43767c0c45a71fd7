"""The agent flow in a real headless Chromium against `streamlit run`.

Debian's chromium driven by Playwright (no browser download). Skipped, saying
why, where chromium or playwright is missing; .ci/run installs both.
"""
from __future__ import annotations

import os
import shutil

import pytest

from core.actors import StaffRole
from core.customers.rules import CabinetStatus
from core.customers import contact_center
from tests.browser.harness import (  # skips the module without chromium or playwright
    TIMEOUT, click_row, login, page_shown, settled, sync_api,
)
from tests.factories.customers import STAFF_PASSWORD, make_staff, register_and_activate

pytestmark = pytest.mark.browser


def test_agent_unblocks_a_customer_after_the_code_word_in_a_real_browser(server, browser,
                                                                          tmp_path):
    app, base = server["app"], str(server["base"])
    customer = register_and_activate(app, phone="+79997654321")
    admin = make_staff(app, StaffRole.ADMIN)
    contact_center.block(app, admin, customer.customer_id, "Подозрительный вход")
    agent = make_staff(app, StaffRole.AGENT)

    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    expect = sync_api.expect
    login(page, base, agent.login)
    page_shown(page, "Клиенты")

    page.get_by_label("Поиск: телефон, e-mail, ФИО").fill("8 999 765-43-21")
    page.get_by_role("button", name="Найти").click()
    settled(page)
    click_row(page)
    expect(page.get_by_text("Подозрительный вход").first).to_be_visible()

    page.get_by_label("Кодовое слово, которое называет клиент").fill("ромашка")
    page.get_by_role("button", name="Проверить кодовое слово").click()
    expect(page.get_by_text("Верно", exact=True)).to_be_visible()
    settled(page)  # the card's fragment rerun: until it ends, the old (disabled) button stays too
    page.get_by_role("button", name="Разблокировать").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Комментарий (необязательно)").fill("Клиент назвал кодовое слово")
    dialog.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_text("Кабинет разблокирован").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "unblocked.png"), full_page=True)
    if os.environ.get("SCREENSHOT_DIR"):
        shutil.copy(tmp_path / "unblocked.png", os.environ["SCREENSHOT_DIR"])

    card = contact_center.open_customer_card(app, agent, customer.customer_id)
    assert card.status is CabinetStatus.ACTIVE
    assert card.blocks[0].lift_method == "code_word"
    context.close()


def test_a_cookie_copied_before_logout_no_longer_logs_in(server, browser):
    app, base = server["app"], str(server["base"])
    agent = make_staff(app, StaffRole.AGENT)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    expect = sync_api.expect
    login(page, base, agent.login)
    page_shown(page, "Клиенты")

    # The re-login cookie works while the session is alive: a new tab is logged in.
    page.wait_for_function("document.cookie.includes('utility_backoffice_staff')")
    copied = [c for c in context.cookies() if c["name"] == "utility_backoffice_staff"]
    assert copied, "the login widget set no re-login cookie"
    second = context.new_page()
    second.goto(base + "/audit")  # a deep link, opened through the cookie
    page_shown(second, "Журнал действий")

    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_text("Вы вышли из системы").first).to_be_visible()

    thief = browser.new_context()
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(base)
    expect(stolen.get_by_role("button", name="Войти")).to_be_visible()
    expect(stolen.get_by_role("heading", name="Клиенты")).to_have_count(0)
    thief.close()
    context.close()


def test_a_deep_link_survives_the_login_form(server, browser):
    app, base = server["app"], str(server["base"])
    agent = make_staff(app, StaffRole.AGENT)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(base + "/audit")
    page.get_by_label("Логин").fill(agent.login)
    page.get_by_label("Пароль", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page_shown(page, "Журнал действий")
    context.close()


def test_agent_opens_a_customers_invoice_breakdown(server, browser):
    from tests.factories.billing import VODOKANAL_FILE, bind, vodokanal

    app, base = server["app"], str(server["base"])
    from core.billing import invoices

    provider_id, accounts = vodokanal(app)
    customer = register_and_activate(app, phone="+79990001199")
    bind(app, customer.customer_id, next(iter(accounts.values())), name="Квартира мамы")
    invoices.import_billing_registry(app, None, provider_id, VODOKANAL_FILE.name,
                                     VODOKANAL_FILE.read_bytes())
    agent = make_staff(app, StaffRole.AGENT)
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    login(page, base, agent.login)
    page_shown(page, "Клиенты")
    search_box = page.get_by_label("Поиск: телефон, e-mail, ФИО")
    search_box.fill("+7 999 000-11-99")
    sync_api.expect(search_box).to_have_value("+7 999 000-11-99")
    page.get_by_role("button", name="Найти").click()
    settled(page)
    click_row(page)
    page.get_by_role("tab", name="Счета", exact=True).click()
    settled(page)
    # The card's table of invoices: the second visible one, under the search's.
    click_row(page, 0, table=1)
    sync_api.expect(page.get_by_role("heading", name="Счёт за октябрь 2026").first).to_be_visible()
    sync_api.expect(page.get_by_text("Водоотведение").first).to_be_visible()
    context.close()
