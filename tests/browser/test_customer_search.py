"""«Клиенты» in a real Chromium against `streamlit run`: the last seven digits of a phone
typed with dashes find the customer, and the tab «Заблокированные кабинеты» opens a
blocked customer's card from its row."""
from __future__ import annotations

import os
import shutil

import pytest

from core.actors import StaffRole
from core.customers import cabinet, contact_center
from tests.browser.harness import (  # skips the module without chromium or playwright
    TIMEOUT, click_row, login, page_shown, settled, sync_api,
)
from tests.factories.customers import make_staff, register_and_activate

pytestmark = pytest.mark.browser


def _keep(page, tmp_path, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if os.environ.get("SCREENSHOT_DIR"):
        shutil.copy(tmp_path / name, os.environ["SCREENSHOT_DIR"])


def test_agent_finds_a_customer_by_the_last_seven_digits_and_works_the_blocked_list(
        server, browser, tmp_path):
    app, base = server["app"], str(server["base"])
    register_and_activate(app, phone="+7 916 852-96-93", email="caller@example.ru")
    register_and_activate(app, phone="+7 925 000-96-93", email="tail@example.ru")
    selfish = register_and_activate(app, phone="+7 903 100-00-01", email="lost@example.ru")
    cabinet.block_own_cabinet(app, selfish.session_token, "Потерял телефон")
    admin = make_staff(app, StaffRole.ADMIN)
    blocked = register_and_activate(app, phone="+7 903 100-00-02", email="fraud@example.ru")
    contact_center.block(app, admin, blocked.customer_id, "Подозрение на мошенничество")
    agent = make_staff(app, StaffRole.AGENT)

    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    expect = sync_api.expect
    login(page, base, agent.login)
    page_shown(page, "Клиенты")

    # «Все», not an empty «Choose an option» (which a None option would show)
    expect(page.get_by_role("combobox", name="Статус")).to_have_value("Все")
    search_box = page.get_by_label("Поиск: телефон, e-mail, ФИО")
    search_box.fill("852-96-93")
    expect(search_box).to_have_value("852-96-93")
    page.get_by_role("button", name="Найти").click()
    settled(page)
    # The table is a canvas: its count says one customer, and the row opens that card.
    expect(page.get_by_text("Всего: 1 · страниц: 1").first).to_be_visible()
    click_row(page)
    expect(page.get_by_text("+7 916 852-96-93 · caller").filter(visible=True).first).to_be_visible()
    _keep(page, tmp_path, "search_852-96-93.png")

    page.get_by_role("tab", name="Заблокированные кабинеты").click()
    settled(page)
    blocked_tab = page.get_by_role("tabpanel", name="Заблокированные кабинеты")
    expect(blocked_tab.get_by_text("Всего: 2 · страниц: 1")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]:visible')).to_have_count(1)
    # Newest first: the admin's block heads the list, the self-block is the second row.
    click_row(page, index=1)  # the only visible table
    expect(page.get_by_text("+7 903 100-00-01 · lost").filter(visible=True).first).to_be_visible()
    expect(page.get_by_text("Потерял телефон").filter(visible=True).first).to_be_visible()
    assert f"customer={selfish.customer_id}" in page.url
    _keep(page, tmp_path, "blocked_cabinets.png")
    context.close()
