"""Issue 14, point 3 in a real Chromium: the journal reads a sentence, not a raw dict, and
the raw record is one click away («Исходная запись»)."""
from __future__ import annotations

import os
import re
import shutil

import pytest

from core.actors import StaffRole
from core.customers import contact_center
from tests.browser.harness import (  # skips the module without chromium or playwright
    TIMEOUT, login, page_shown, settled, sync_api,
)
from tests.factories.customers import make_staff, register_and_activate

pytestmark = pytest.mark.browser


def test_the_journal_reads_a_sentence_and_shows_the_raw_record_on_a_click(server, browser,
                                                                           tmp_path):
    app, base = server["app"], str(server["base"])
    agent = make_staff(app, StaffRole.AGENT)
    customer = register_and_activate(app, phone="+79995550011")
    contact_center.block(app, agent, customer.customer_id, "Утеря телефона")

    context = browser.new_context(viewport={"width": 1800, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    expect = sync_api.expect
    login(page, base, agent.login)
    page_shown(page, "Клиенты")
    page.get_by_role("link", name="Журнал действий").click()
    page_shown(page, "Журнал действий")

    journal = page.get_by_test_id("stDataFrame").first
    expect(journal).to_be_visible()
    # The grid is a canvas; its cells stay in the DOM for screen readers.
    expect(journal.get_by_role("columnheader", name="Что произошло",
                               include_hidden=True).first).to_be_attached()
    sentence = journal.get_by_role(
        "gridcell", name=re.compile(r"^Кабинет заблокирован \(был: активен\)"),
        include_hidden=True)
    expect(sentence.first).to_be_attached()
    expect(journal.get_by_role("gridcell", name="Вход по паролю", exact=True,
                               include_hidden=True).first).to_be_attached()
    expect(journal.get_by_role("gridcell", name=re.compile(r"[{}]|\"status\""),
                               include_hidden=True)).to_have_count(0)
    expect(page.get_by_text('"status"')).to_have_count(0)  # no raw dict before the click

    page.get_by_text("Исходная запись", exact=True).click()
    settled(page)
    raw = page.get_by_test_id("stJson").first
    expect(raw).to_be_visible()
    # The newest row, «Вход по паролю», as it is stored.
    expect(raw).to_contain_text("staff.login")
    expect(raw).to_contain_text('"via":"password"')
    page.screenshot(path=str(tmp_path / "journal.png"), full_page=True)
    if os.environ.get("SCREENSHOT_DIR"):
        shutil.copy(tmp_path / "journal.png", os.environ["SCREENSHOT_DIR"])
    context.close()
