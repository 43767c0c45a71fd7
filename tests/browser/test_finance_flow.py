"""The finance flow in a real headless Chromium against `streamlit run`: a payment made
through the real services before the server starts, found on «Платежи» by its number,
opened, and its receipt downloaded as a PDF.

Debian's chromium driven by Playwright (no browser download). Skipped, saying why,
where chromium or playwright is missing (the import below skips as the agent test does).
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.db.models import Receipt
from core.actors import StaffRole
from core.payments import read_models as pv
from tests.browser.harness import (  # skips the module without chromium or playwright
    TIMEOUT, chromium, click_row, login, page_shown, settled, streamlit_server, sync_api,
    test_app,
)
from tests.factories.customers import make_staff
from tests.factories.payment_flow import pay_invoice, payer

pytestmark = pytest.mark.browser
MASKED_CARD = "411111******1111"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The data first (a successful payment, a finance login), then the server on the
    same SQLite file."""
    work = tmp_path_factory.mktemp("browser_finance")
    app = test_app(work)
    view = pay_invoice(app, payer(app))
    assert view.status == "succeeded", view
    with app.uow(write=False) as uow:
        receipt = uow.session.scalars(
            select(Receipt).where(Receipt.payment_id == view.id)).one()
    # The payment flow fiscalises in-process (the fiscal simulator): the receipt is ready.
    assert receipt.fiscal_document_number is not None
    assert receipt.fiscal_sign
    finance = make_staff(app, StaffRole.FINANCE)
    events = [e.label for e in pv.payment_detail(app, finance, view.id).events]
    assert events, "the payment has no timeline"
    try:
        with streamlit_server(app, work) as base:
            yield {"base": base, "app": app, "work": work, "payment_id": view.id,
                   "finance": finance, "events": events}
    finally:
        app.engine.dispose()


@pytest.fixture(scope="module")
def browser_instance() -> Iterator[object]:
    with chromium() as instance:
        yield instance


def test_finance_finds_a_payment_and_downloads_its_receipt_pdf(prepared, browser_instance,
                                                               tmp_path):
    from pypdf import PdfReader

    base, payment_id = str(prepared["base"]), int(prepared["payment_id"])
    finance = prepared["finance"]
    expect = sync_api.expect
    context = browser_instance.new_context(viewport={"width": 1400, "height": 2400},
                                   accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        login(page, base, finance.login)
        settled(page)
        page.get_by_role("link", name="Платежи").first.click()
        page_shown(page, "Платежи")

        number = page.get_by_label("Номер платежа")
        number.fill(str(payment_id))
        expect(number).to_have_value(str(payment_id))
        page.get_by_role("button", name="Показать", exact=True).click()
        settled(page)
        expect(page.get_by_text("Всего: 1").first).to_be_visible()

        click_row(page)  # the register's only row
        expect(page).to_have_url(re.compile(rf"/payments\?payment={payment_id}$"))
        expect(page.get_by_role("heading", name=f"Платёж № {payment_id}").first).to_be_visible()
        card = page.get_by_test_id("stMarkdownContainer").filter(has_text="Карта:")
        expect(card.first).to_contain_text(f"Visa {MASKED_CARD}")
        # The timeline: the second table (after the register); a canvas grid, whose cells
        # are kept in the DOM for screen readers though not visible.
        expect(page.get_by_text("Хронология", exact=True).first).to_be_visible()
        tables = page.get_by_test_id("stDataFrame")
        expect(tables).to_have_count(2)
        timeline = tables.nth(1)
        expect(timeline).to_be_visible()
        for label in prepared["events"]:
            expect(timeline.get_by_role("gridcell", name=label, exact=True,
                                      include_hidden=True).first).to_be_attached()
        settled(page)

        page.get_by_role("button", name="Подготовить квитанцию").click()
        pdf_button = page.get_by_role("button", name="Скачать квитанцию (PDF)")
        expect(pdf_button).to_be_visible()
        settled(page)
        with page.expect_download() as info:
            pdf_button.click()
        download = info.value
        assert download.suggested_filename == f"kvitanciya_{payment_id}.pdf"
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        page.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)
        if os.environ.get("SCREENSHOT_DIR"):
            shutil.copy(tmp_path / "receipt.png", os.environ["SCREENSHOT_DIR"])
    finally:
        context.close()

    data = saved.read_bytes()
    assert data.startswith(b"%PDF"), data[:20]
    text = "\n".join(p.extract_text() or "" for p in PdfReader(saved).pages)
    assert "Кассовый чек" in text
    assert MASKED_CARD in text
    # «Платёж № 1»: the bare number alone would match any digit on the receipt.
    assert re.search(rf"Платёж №\s*{payment_id}(?!\d)", text), text
