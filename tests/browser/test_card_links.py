"""Issue 14, point 1 (and 5's refusal) in a real Chromium: a row click opens the card and
puts it in the address; that address, sent to a colleague, opens the same card in a
fresh browser after the login; an address of a page the role may not open says so."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.actors import StaffRole
from tests.browser.harness import (  # skips the module without chromium or playwright
    TIMEOUT, click_row, login, page_shown, settled, sync_api,
)
from tests.factories.customers import STAFF_PASSWORD, make_staff, register_and_activate
from tests.factories.payment_flow import pay_invoice, payer

pytestmark = pytest.mark.browser


def _card_of(page, tail: str = "02"):  # type: ignore[no-untyped-def]
    """The open card's header line of the wanted customer, +7 999 555-01-<tail> (the
    grid's cells are hidden; the header's text carries word joiners, hence the pattern)."""
    return page.get_by_test_id("stMarkdownContainer").filter(
        has_text=re.compile(rf"555\W*01\W*{tail}")).first


def _logged_in(browser, base: str, login_name: str):  # type: ignore[no-untyped-def]
    """A fresh context logged in as that staff member, on the landing page («Клиенты»)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    login(page, base, login_name)
    page_shown(page, "Клиенты")
    return context, page


def test_a_clicked_customer_is_a_link_a_colleague_opens_after_the_login(server, browser,
                                                                         tmp_path):
    app, base = server["app"], str(server["base"])
    register_and_activate(app, phone="+79995550101")
    wanted = register_and_activate(app, phone="+79995550102")
    agent, colleague = make_staff(app, StaffRole.AGENT), make_staff(app, StaffRole.AGENT)
    expect = sync_api.expect

    context, page = _logged_in(browser, base, agent.login)
    page.get_by_label("Поиск: телефон, e-mail, ФИО").fill("999 555-01-0")
    page.get_by_role("button", name="Найти").click()
    settled(page)
    expect(page.get_by_text("Всего: 2").first).to_be_visible()
    # Newest first: the second registered is the first row.
    click_row(page, 0)
    # «Клиенты» is the agent's landing page, whose address is «/»
    expect(page).to_have_url(re.compile(rf"/\?customer={wanted.customer_id}$"))
    expect(_card_of(page)).to_be_visible()
    link = page.url
    page.screenshot(path=str(tmp_path / "clicked.png"), full_page=True)
    # Closed, the same row opens it again (the table used to keep the row picked, so the
    # second click un-picked it and nothing opened).
    page.get_by_role("button", name="Закрыть карточку").click()
    settled(page)
    expect(page).not_to_have_url(re.compile("customer="))
    expect(page.get_by_role("tab", name="История действий")).to_have_count(0)
    click_row(page, 0)
    expect(page).to_have_url(re.compile(rf"/\?customer={wanted.customer_id}$"))
    expect(_card_of(page)).to_be_visible()
    context.close()

    fresh = browser.new_context(viewport={"width": 1400, "height": 1600})  # no cookie
    other = fresh.new_page()
    other.set_default_timeout(TIMEOUT)
    other.goto(link)
    other.get_by_label("Логин").fill(colleague.login)
    other.get_by_label("Пароль", exact=True).fill(STAFF_PASSWORD)
    other.get_by_role("button", name="Войти").click()
    page_shown(other, "Клиенты")
    expect(_card_of(other)).to_be_visible()
    # The card's parameter opens on its own page whatever page the address names.
    other.goto(f"{base}/audit?customer={wanted.customer_id}")
    page_shown(other, "Клиенты")
    expect(_card_of(other)).to_be_visible()

    other.get_by_role("button", name="Закрыть карточку").click()
    settled(other)
    expect(other.get_by_role("tab", name="История действий")).to_have_count(0)
    expect(other).not_to_have_url(re.compile("customer="))
    fresh.close()


def test_a_note_being_typed_survives_a_look_at_another_tab_of_the_card(server, browser):
    """The card draws only its open tab, but «Заметки»: a form sends its fields only on
    submit, so a draft lived in the browser alone and was gone after a look at «Платежи»."""
    from core.db.models import CustomerNote

    app, base = server["app"], str(server["base"])
    wanted = register_and_activate(app, phone="+79995550103")
    agent = make_staff(app, StaffRole.AGENT)
    expect = sync_api.expect
    context, page = _logged_in(browser, base, agent.login)
    page.goto(f"{base}/?customer={wanted.customer_id}")
    page_shown(page, "Клиенты")
    expect(_card_of(page, "03")).to_be_visible()
    page.get_by_role("tab", name="Заметки", exact=True).click()
    settled(page)
    draft = page.get_by_label("Новая заметка")
    draft.fill("Клиент перезвонит после 18:00")
    page.get_by_role("tab", name="Платежи", exact=True).click()
    settled(page)
    expect(page.get_by_text("Платежей из этого кабинета не было").first).to_be_visible()
    page.get_by_role("tab", name="Заметки", exact=True).click()
    settled(page)
    expect(draft).to_have_value("Клиент перезвонит после 18:00")
    page.get_by_role("button", name="Добавить заметку").click()
    settled(page)
    expect(page.get_by_text("Заметка добавлена").first).to_be_visible()
    context.close()
    with app.uow(write=False) as uow:
        notes = uow.session.scalars(select(CustomerNote.text).where(
            CustomerNote.customer_id == wanted.customer_id)).all()
    assert notes == ["Клиент перезвонит после 18:00"]


def test_a_payment_link_opens_its_card_and_a_refused_page_says_so(server, browser):
    app, base = server["app"], str(server["base"])
    paid = pay_invoice(app, payer(app, total_due=123_456))
    agent = make_staff(app, StaffRole.AGENT)
    expect = sync_api.expect
    context, page = _logged_in(browser, base, agent.login)

    page.goto(f"{base}/payments?payment={paid.id}")  # through the cookie, as a shared link
    page_shown(page, "Платежи")
    expect(page.get_by_role("heading", name=f"Платёж № {paid.id}").first).to_be_visible()

    page.goto(f"{base}/reconciliation")
    page_shown(page, "Клиенты")
    expect(page.get_by_text("Нет доступа к разделу «Сверка»").first).to_be_visible()
    expect(page.get_by_role("heading", name="Сверка с реестром банка")).to_have_count(0)
    context.close()
