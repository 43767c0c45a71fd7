"""The staff second factor in a real headless Chromium against `streamlit run`: an
administrator without one enrols at login (the QR code on the page, the key typed into
«the app», here pyotp), sees the recovery codes once, works; logs out and back in with a
TOTP code computed in the test; a replayed code is refused; a recovery code opens once.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.actors import StaffRole
from core.db.models import AuditEntry
from tests.browser.harness import (  # skips the module without chromium or playwright
    TIMEOUT, enrol_in_page, page_shown, served, settled, sync_api, totp_code,
)
from tests.factories.customers import STAFF_PASSWORD, make_staff

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    work = tmp_path_factory.mktemp("browser_2fa")
    with served(work) as (app, base):
        yield {"base": base, "app": app}


def _password(page, base: str, login_name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base)
    page.get_by_label("Логин").fill(login_name)
    page.get_by_label("Пароль", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    settled(page)


def test_an_admin_enrols_at_login_then_logs_in_with_a_totp_code(server, browser):
    app, base = server["app"], str(server["base"])
    admin = make_staff(app, StaffRole.ADMIN)
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    expect = sync_api.expect
    nav = page.get_by_test_id("stSidebarNav")
    code_box = "Код из приложения или резервный код"
    try:
        _password(page, base, admin.login)
        expect(page.get_by_role("heading",
                                name="Вход: подключите двухфакторный вход")).to_be_visible()
        expect(page.get_by_test_id("stImage").locator("img")).to_have_count(1)  # the QR code
        expect(nav.get_by_role("link")).to_have_count(0)  # no page before the enrolment
        recovery = enrol_in_page(page, admin.login)
        assert len(recovery) == 10
        page.get_by_role("button", name="Коды сохранены, продолжить").click()
        page_shown(page, "Клиенты")
        expect(nav.get_by_role("link", name="Сотрудники")).to_have_count(1)
        page.get_by_role("button", name="Выйти").click()
        expect(page.get_by_text("Вы вышли из системы").first).to_be_visible()
        settled(page)

        _password(page, base, admin.login)
        expect(page.get_by_role("heading", name="Вход: код двухфакторного входа")).to_be_visible()
        page.get_by_label(code_box, exact=True).fill("000000")
        page.get_by_role("button", name="Подтвердить").click()
        expect(page.get_by_text("Код: неверный или уже использованный")).to_be_visible()
        expect(nav.get_by_role("link")).to_have_count(0)
        code = totp_code(admin.login)
        page.get_by_label(code_box, exact=True).fill(code)
        page.get_by_role("button", name="Подтвердить").click()
        page_shown(page, "Клиенты")
        page.get_by_role("button", name="Выйти").click()
        expect(page.get_by_text("Вы вышли из системы").first).to_be_visible()
        settled(page)

        # The same code again (within its 30 seconds) is refused; a recovery code opens.
        _password(page, base, admin.login)
        page.get_by_label(code_box, exact=True).fill(code)
        page.get_by_role("button", name="Подтвердить").click()
        expect(page.get_by_text("Код: неверный или уже использованный")).to_be_visible()
        page.get_by_label(code_box, exact=True).fill(recovery[0])
        page.get_by_role("button", name="Подтвердить").click()
        page_shown(page, "Клиенты")
        expect(nav.get_by_role("link", name="Сотрудники")).to_have_count(1)
    finally:
        context.close()
    with app.uow(write=False) as uow:
        actions = uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("staff.%")).order_by(AuditEntry.id)).all()
    assert actions.count("staff.totp_failed") == 2
    assert "staff.totp_enrol" in actions and "staff.recovery_used" in actions
    assert actions.count("staff.login") == 3
