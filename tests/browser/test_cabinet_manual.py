"""The customer's manual walked from start to end in a real headless Chromium against
`streamlit run cabinet/server.py` (and the back office beside it, on the same database):
register with the real arithmetic captcha, the SMS code read from the demo's panel, an
account added with the last bill's total as proof, an invoice paid with a new card (saved)
and its one-time password, the receipt PDF downloaded and read back, the next invoice paid
with the saved card and only its CVV, a card added in «Способы оплаты» (the bank's 1 ₽
check), made default and the old one removed, a «Произвольный платёж» without logging in,
the history, a subscription kept after a reload, the self-block; then an agent unblocks the
cabinet after the code word and the customer logs in again.

The test plays the worker too: ``outbox.send_pending`` writes the queued SMS and e-mails to
the log files the demo's panel reads. Debian's chromium driven by Playwright (no browser
download); skipped, saying why, where chromium or playwright is missing. SQLite only, as
every browser test.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from core.actors import StaffRole
from core.customers.rules import CabinetStatus
from core.customers import contact_center
from core.db.models import Customer, Payment, Provider, SavedCard, Subscription
from core.demo.guard import DEMO_STAFF
from core.notifications import outbox
from core.staff import members
from tests.browser.harness import (  # skips the module without chromium or playwright
    CABINET, TIMEOUT, click_row, login, page_shown, settled, streamlit_server, sync_api, test_app,
)
from tests.factories.billing import add_accounts, make_invoice, make_provider
from tests.factories.customers import PASSWORD, make_staff
from tests.factories.payment_flow import MIR_CARD, OK_CARD

pytestmark = pytest.mark.browser
expect = sync_api.expect

PHONE, PHONE_DIGITS = "+7 921 555-01-77", "+79215550177"
EMAIL = "anna.ivanova@example.ru"
GUEST_EMAIL = "guest.payer@example.ru"
CODE_WORD = "Черёмуха"
WATER, POWER, GAS = "ГУП «Водоканал»", "ООО «Энергосбыт»", "АО «Газпром межрегионгаз»"
WATER_NUMBER, POWER_NUMBER, GAS_NUMBER = "7700000001", "400000000001", "5500000001"
CONTACT_CENTER = "8 800 100 39 00"
ACTIVATION = r"Код активации личного кабинета: (\d{4})"
PAYMENT_OTP = r"Код подтверждения платежа № \d+ на [^:]*: (\d{6})"
BINDING_OTP = r"Код для привязки карты ···· 0004: (\d{6})"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A fresh database with the demo's logins (so the cabinet is in demo mode and shows
    its panel), three providers with their accounts and invoices; the cabinet and the back
    office served on it."""
    work = tmp_path_factory.mktemp("cabinet_manual")
    app = test_app(work)
    login_name, name, role, password = DEMO_STAFF[0]
    members.add_staff(app, None, login=login_name, name=name, role=StaffRole(role),
                      email=f"{login_name}@demo.example.ru", password=password)
    water = make_provider(app, name=WATER)
    with app.uow() as uow:  # the provider asks for the last bill's total as proof
        provider = uow.session.get(Provider, water)
        assert provider is not None
        provider.ownership_proof = True
        uow.commit()
    power = make_provider(app, name=POWER, pattern=r"\d{12}", hint="12 цифр", kind="electricity")
    gas = make_provider(app, name=GAS, kind="gas")
    water_account = add_accounts(app, water, [WATER_NUMBER])[WATER_NUMBER]
    power_account = add_accounts(app, power, [POWER_NUMBER])[POWER_NUMBER]
    gas_account = add_accounts(app, gas, [GAS_NUMBER])[GAS_NUMBER]
    make_invoice(app, water_account, date(2026, 10, 1), 120_000)
    make_invoice(app, water_account, date(2026, 11, 1), 154_321)  # the last bill: the proof
    make_invoice(app, power_account, date(2026, 11, 1), 98_760)
    make_invoice(app, gas_account, date(2026, 11, 1), 43_210)
    try:
        with streamlit_server(app, work, CABINET) as cabinet, \
                streamlit_server(app, work) as office:
            yield {"app": app, "cabinet": cabinet, "office": office, "work": work}
    finally:
        app.engine.dispose()


def _sidebar_text(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.get_by_test_id("stSidebar").inner_text())


def _demo_code(page, app, pattern: str, used: set[str]) -> str:  # type: ignore[no-untyped-def]
    """The newest code matching ``pattern`` in «Демо: SMS и письма», not one used before:
    the worker's turn (send what is queued), then «Обновить» until it shows."""
    for _ in range(20):
        outbox.send_pending(app)
        settled(page)
        page.get_by_role("button", name="Обновить").click()
        settled(page)
        found = [code for code in re.findall(pattern, _sidebar_text(page)) if code not in used]
        if found:
            used.add(found[0])  # the panel lists the newest first
            return str(found[0])
        page.wait_for_timeout(500)
    raise AssertionError(f"no {pattern!r} in the demo panel:\n{_sidebar_text(page)}")


def _nav(page, title: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    settled(page)


def _tab(page, name: str):  # type: ignore[no-untyped-def]
    """The settings tab ``name``, opened; its panel (the others stay in the page, hidden)."""
    page.get_by_role("tab", name=name, exact=True).click()
    panel = page.locator('[role="tabpanel"]:visible')
    expect(panel).to_have_count(1)
    return panel


def _choose(page, scope, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    scope.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option).click()
    settled(page)


def _card(scope, number: str, expiry: str = "12/30", cvv: str = "123") -> None:  # type: ignore[no-untyped-def]
    scope.get_by_label("Номер карты", exact=True).fill(number)
    scope.get_by_label("Срок действия (ММ/ГГ)", exact=True).fill(expiry)
    scope.get_by_label("Имя владельца", exact=True).fill("ANNA IVANOVA")
    scope.get_by_label("CVV", exact=True).fill(cvv)


def _cabinet_login(page, base: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(base)
    page_shown(page, "Вход в личный кабинет")
    page.get_by_label("Телефон", exact=True).fill(PHONE)
    page.get_by_label("Пароль", exact=True).fill(password)
    page.get_by_role("button", name="Войти").click()
    settled(page)


def _register(page, app, base: str, used: set[str]) -> None:  # type: ignore[no-untyped-def]
    page.goto(base)
    page_shown(page, "Вход в личный кабинет")
    _nav(page, "Регистрация")
    page_shown(page, "Регистрация")
    for label, value in [("Фамилия", "Иванова"), ("Имя", "Анна"), ("Отчество", "Сергеевна"),
                         ("Мобильный телефон", PHONE), ("E-mail", EMAIL),
                         ("Кодовое слово", CODE_WORD)]:
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Повторите пароль", exact=True).fill(PASSWORD)
    page.get_by_text("Пользовательское соглашение (редакция").click()  # read it
    expect(page.get_by_test_id("stExpanderDetails").first).to_be_visible()
    page.get_by_text("Я ознакомился с пользовательским соглашением и принимаю его").click()
    question = page.get_by_text(re.compile(r"Сколько будет \d+ \+ \d+\?"))
    found = re.search(r"Сколько будет (\d+) \+ (\d+)\?", str(question.inner_text()))
    assert found, question.inner_text()
    page.get_by_label("Код с картинки", exact=True).fill(str(int(found[1]) + int(found[2])))
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_text("Личный кабинет зарегистрирован").first).to_be_visible()
    expect(page.get_by_text("Демо: SMS и письма")).to_be_visible()
    code = _demo_code(page, app, ACTIVATION, used)
    page.get_by_label("Код из SMS", exact=True).fill(code)
    page.get_by_role("button", name="Активировать").click()
    page_shown(page, "Счета к оплате")
    expect(page.get_by_text("Счетов к оплате нет").first).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text("Анна Иванова")).to_be_visible()


def _add_accounts(page) -> None:  # type: ignore[no-untyped-def]
    _nav(page, "Настройки")
    page_shown(page, "Настройки")
    panel = _tab(page, "Управление счетами")
    expect(panel.get_by_text("Лицевых счетов пока нет.")).to_be_visible()
    _choose(page, panel, "Поставщик услуг", WATER)
    panel.get_by_label("Номер лицевого счёта", exact=True).fill(WATER_NUMBER)
    panel.get_by_placeholder("например, адрес квартиры").fill("Квартира на Невском")
    proof = panel.get_by_label("Сумма последней квитанции, руб.", exact=True)
    proof.fill("1 200,00")  # the October bill, not the last one: refused, nothing added
    panel.get_by_role("button", name="Добавить").click()
    expect(page.get_by_role("alert").filter(has_text="Сумма последне").first).to_be_visible()
    expect(panel.get_by_text("Лицевых счетов пока нет.")).to_be_visible()
    proof.fill("1 543,21")
    panel.get_by_role("button", name="Добавить").click()
    expect(page.get_by_text("Счёт добавлен в личный кабинет").first).to_be_visible()
    settled(page)
    panel = _tab(page, "Управление счетами")
    expect(panel.get_by_text("Квартира на Невском").first).to_be_visible()

    _choose(page, panel, "Поставщик услуг", POWER)  # no proof asked here
    expect(panel.get_by_label("Сумма последней квитанции, руб.", exact=True)).to_have_count(0)
    panel.get_by_label("Номер лицевого счёта", exact=True).fill(POWER_NUMBER)
    panel.get_by_placeholder("например, адрес квартиры").fill("Дача")
    panel.get_by_role("button", name="Добавить").click()
    expect(page.get_by_text("Счёт добавлен в личный кабинет").first).to_be_visible()
    settled(page)


def _invoice_card(page, name: str):  # type: ignore[no-untyped-def]
    """The bordered card of an account on «Счета к оплате» (the innermost block)."""
    return (page.get_by_test_id("stVerticalBlock").filter(has_text=name)
            .filter(has=page.get_by_role("button", name="Оплатить")).last)


def _pay_step(page, title: str) -> None:  # type: ignore[no-untyped-def]
    expect(page.get_by_role("heading", name=title)).to_have_count(1)
    settled(page)


def _pay_with_new_card(page, app, used: set[str], tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    _nav(page, "Счета к оплате")
    page_shown(page, "Счета к оплате")
    card = _invoice_card(page, "Квартира на Невском")
    expect(card.get_by_text("1\u00a0543,21\u00a0₽").first).to_be_visible()
    card.get_by_text("Детализация начислений").click()
    expect(card.get_by_text("Итого к оплате: 1\u00a0543,21\u00a0₽")).to_be_visible()
    card.get_by_role("button", name="Оплатить").click()
    page_shown(page, "Оплата")
    _pay_step(page, "Детализация начислений")
    expect(page.get_by_text("Итого к списанию: 1\u00a0543,21\u00a0₽")).to_be_visible()
    page.get_by_role("button", name="Далее").click()
    _pay_step(page, "Способ оплаты")
    _card(page, OK_CARD)
    page.get_by_text("Сохранить карту").click()
    page.get_by_role("button", name="Далее").click()
    _pay_step(page, "Проверьте реквизиты")
    expect(page.get_by_text("Лицевой счёт: " + WATER_NUMBER)).to_be_visible()
    expect(page.get_by_text("411111******1111").first).to_be_visible()
    page.get_by_role("button", name="Оплатить").click()
    _pay_step(page, "Одноразовый пароль")
    page.get_by_role("textbox", name="Одноразовый пароль", exact=True).fill(_demo_code(page, app, PAYMENT_OTP, used))
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_text("Платёж выполнен: 1\u00a0543,21\u00a0₽").first).to_be_visible()
    settled(page)
    number = re.search(r"Платёж № (\d+)", str(page.get_by_text("Платёж №").first.inner_text()))
    assert number, page.get_by_text("Платёж №").first.inner_text()
    with page.expect_download() as info:
        page.get_by_role("button", name="Сохранить квитанцию").click()
    download = info.value
    assert download.suggested_filename == f"kvitanciya-{number[1]}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    return str(saved)


def _read_pdf(path: str) -> str:
    from pypdf import PdfReader

    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF"), data[:20]
    return "\n".join(p.extract_text() or "" for p in PdfReader(path).pages)


def _pay_with_saved_card(page, app, used: set[str]) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="К счетам").click()
    page_shown(page, "Счета к оплате")
    expect(page.get_by_text("Квартира на Невском")).to_have_count(0)  # paid: not to pay
    card = _invoice_card(page, "Дача")
    card.get_by_role("button", name="Оплатить").click()
    page_shown(page, "Оплата")
    _pay_step(page, "Детализация начислений")
    page.get_by_role("button", name="Далее").click()
    _pay_step(page, "Способ оплаты")
    expect(page.get_by_role("radio", name="Visa 411111******1111 (основная)")).to_be_checked()
    expect(page.get_by_label("Номер карты", exact=True)).to_have_count(0)  # only the CVV is asked
    page.get_by_label("CVV", exact=True).fill("123")
    page.get_by_role("button", name="Далее").click()
    _pay_step(page, "Проверьте реквизиты")
    page.get_by_role("button", name="Оплатить").click()
    _pay_step(page, "Одноразовый пароль")
    page.get_by_role("textbox", name="Одноразовый пароль", exact=True).fill(_demo_code(page, app, PAYMENT_OTP, used))
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_text("Платёж выполнен: 987,60\u00a0₽").first).to_be_visible()
    settled(page)


def _cards(app) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return [(c.masked_pan, c.is_default) for c in uow.session.scalars(
            select(SavedCard).where(SavedCard.removed_at.is_(None)).order_by(SavedCard.id))]


def _manage_cards(page, app, used: set[str]) -> None:  # type: ignore[no-untyped-def]
    _nav(page, "Настройки")
    page_shown(page, "Настройки")
    panel = _tab(page, "Способы оплаты")
    expect(panel.get_by_text("411111******1111 · до 12/2030 · основная")).to_be_visible()
    _card(panel, MIR_CARD)
    panel.get_by_role("button", name="Добавить карту").click()
    settled(page)
    panel = _tab(page, "Способы оплаты")
    expect(panel.get_by_text("1 ₽ будет удержан и сразу возвращён", exact=False)).to_be_visible()
    panel.get_by_role("textbox", name="Одноразовый пароль", exact=True).fill(_demo_code(page, app, BINDING_OTP, used))
    panel = _tab(page, "Способы оплаты")
    panel.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_text("Карта 220000******0004 добавлена").first).to_be_visible()
    settled(page)
    assert _cards(app) == [("411111******1111", True), ("220000******0004", False)]

    panel = _tab(page, "Способы оплаты")
    mir = panel.get_by_test_id("stVerticalBlock").filter(
        has_text="220000******0004").last
    mir.get_by_role("button", name="Сделать основной").click()
    expect(page.get_by_text("Карта стала основной").first).to_be_visible()
    settled(page)
    panel = _tab(page, "Способы оплаты")
    expect(panel.get_by_text("220000******0004 · до 12/2030 · основная")).to_be_visible()
    visa = panel.get_by_test_id("stVerticalBlock").filter(
        has_text="411111******1111").last
    visa.get_by_role("button", name="Удалить").click()
    expect(page.get_by_text("Карта удалена").first).to_be_visible()
    settled(page)
    panel = _tab(page, "Способы оплаты")
    expect(panel.get_by_text("411111******1111")).to_have_count(0)
    assert _cards(app) == [("220000******0004", True)]


def _guest_payment(page, app, base: str, used: set[str]) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("stSidebar").get_by_role("button", name="Выйти").click()
    page_shown(page, "Вход в личный кабинет")
    expect(page.get_by_text("Вы вышли из личного кабинета").first).to_be_visible()
    _nav(page, "Произвольный платёж")
    page_shown(page, "Произвольный платёж")
    _choose(page, page, "Поставщик услуг", GAS)
    page.get_by_label("Номер лицевого счёта", exact=True).fill(GAS_NUMBER)
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_role("heading", name=f"{GAS}, лицевой счёт {GAS_NUMBER}")).to_be_visible()
    expect(page.get_by_role("radio", name="Счёт на сумму 432,10\u00a0руб.")).to_be_checked()
    settled(page)
    page.get_by_label("E-mail для квитанции", exact=True).fill(GUEST_EMAIL)
    _card(page, OK_CARD)
    page.get_by_role("button", name="Оплатить").click()
    expect(page.get_by_role("heading", name="Одноразовый пароль")).to_be_visible()
    settled(page)
    page.get_by_role("textbox", name="Одноразовый пароль", exact=True).fill(_demo_code(page, app, PAYMENT_OTP, used))
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_text(re.compile(
        r"Платёж выполнен: 432,10\u00a0₽.*Квитанция придёт на e-mail")).first).to_be_visible()
    settled(page)
    with app.uow(write=False) as uow:
        guest = uow.session.scalars(select(Payment).where(
            Payment.receipt_email == GUEST_EMAIL)).one()
        assert guest.customer_id is None and guest.account_number == GAS_NUMBER


def _history_and_subscriptions(page, app, base: str) -> None:  # type: ignore[no-untyped-def]
    _cabinet_login(page, base)
    page_shown(page, "Счета к оплате")
    _nav(page, "История операций")
    page_shown(page, "История операций")
    expect(page.get_by_text("Платежей: 2", exact=True)).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    for provider in (WATER, POWER):
        expect(table.get_by_role("gridcell", name=provider, exact=True,
                                 include_hidden=True).first).to_be_attached()

    _nav(page, "Настройки")
    page_shown(page, "Настройки")
    panel = _tab(page, "Управление подписками")
    news = panel.get_by_role("checkbox", name="Новости сервиса: SMS")
    expect(news).not_to_be_checked()
    panel.get_by_text("Новости сервиса: SMS").click()
    expect(page.get_by_text("Подписка сохранена").first).to_be_visible()
    settled(page)
    with app.uow(write=False) as uow:
        assert uow.session.scalars(select(Subscription.enabled).where(
            Subscription.topic == "news", Subscription.channel == "sms")).one() is True

    page.reload()  # a new session of Streamlit: log in again, the choice is kept
    _cabinet_login(page, base)
    page_shown(page, "Счета к оплате")
    _nav(page, "Настройки")
    page_shown(page, "Настройки")
    panel = _tab(page, "Управление подписками")
    expect(panel.get_by_role("checkbox", name="Новости сервиса: SMS")).to_be_checked()
    expect(panel.get_by_role("checkbox", name="Новости сервиса: E-mail")).not_to_be_checked()


def _self_block(page, base: str) -> None:  # type: ignore[no-untyped-def]
    panel = _tab(page, "Блокировка личного кабинета")
    expect(panel.get_by_text(f"по бесплатному номеру {CONTACT_CENTER}")).to_be_visible()
    panel.get_by_label("Причина блокировки", exact=True).fill("Потеряла телефон")
    panel.get_by_label("Причина блокировки", exact=True).press("Enter")
    settled(page)
    panel = _tab(page, "Блокировка личного кабинета")
    panel.get_by_role("button", name="Заблокировать личный кабинет").click()
    settled(page)
    panel = _tab(page, "Блокировка личного кабинета")
    expect(panel.get_by_text("Заблокировать личный кабинет? Вы выйдете из него")).to_be_visible()
    panel.get_by_role("button", name="Да, заблокировать").click()
    page_shown(page, "Вход в личный кабинет")
    expect(page.get_by_text("Личный кабинет заблокирован").first).to_be_visible()

    _cabinet_login(page, base)
    refusal = page.get_by_role("alert").filter(has_text="заблокирован")
    expect(refusal.first).to_be_visible()
    expect(refusal.first).to_contain_text(CONTACT_CENTER)
    expect(page.get_by_role("heading", name="Счета к оплате")).to_have_count(0)


def _agent_unblocks(browser, app, office: str) -> None:  # type: ignore[no-untyped-def]
    agent = make_staff(app, StaffRole.AGENT)
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        login(page, office, agent.login)
        page_shown(page, "Клиенты")
        search = page.get_by_label("Поиск: телефон, e-mail, ФИО")
        search.fill("8 921 555-01-77")
        expect(search).to_have_value("8 921 555-01-77")
        page.get_by_role("button", name="Найти").click()
        settled(page)
        click_row(page)
        expect(page.get_by_text("Потеряла телефон").first).to_be_visible()
        page.get_by_label("Кодовое слово, которое называет клиент", exact=True).fill("черёмуха")
        page.get_by_role("button", name="Проверить кодовое слово").click()
        expect(page.get_by_text("Верно", exact=True)).to_be_visible()
        # The card is a fragment: until its rerun ends, the button drawn before the check
        # (disabled) stays beside the new one, and a click then finds two.
        settled(page)
        page.get_by_role("button", name="Разблокировать").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Комментарий (необязательно)", exact=True).fill("Клиентка назвала кодовое слово")
        dialog.get_by_role("button", name="Подтвердить").click()
        expect(page.get_by_text("Кабинет разблокирован").first).to_be_visible()
    finally:
        context.close()
    with app.uow(write=False) as uow:
        customer_id = uow.session.scalars(select(Customer.id).where(
            Customer.phone == PHONE_DIGITS)).one()
    card = contact_center.open_customer_card(app, agent, customer_id)
    assert card.status is CabinetStatus.ACTIVE
    assert card.blocks[-1].lift_method == "code_word"


def test_the_customer_manual_from_registration_to_the_unblock(servers, browser, tmp_path):
    app, base = servers["app"], str(servers["cabinet"])
    used: set[str] = set()
    context = browser.new_context(viewport={"width": 1400, "height": 2200},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        _register(page, app, base, used)
        _add_accounts(page)
        receipt = _pay_with_new_card(page, app, used, tmp_path)
        _pay_with_saved_card(page, app, used)
        _manage_cards(page, app, used)
        _guest_payment(page, app, base, used)
        _history_and_subscriptions(page, app, base)
        _self_block(page, base)
        _agent_unblocks(browser, app, str(servers["office"]))
        _cabinet_login(page, base)
        page_shown(page, "Счета к оплате")
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        raise
    finally:
        context.close()

    text = _read_pdf(receipt)
    assert "Кассовый чек" in text, text
    assert "1 543,21" in text.replace("\u00a0", " "), text
    assert WATER_NUMBER in text and "411111******1111" in text, text
    with app.uow(write=False) as uow:
        paid = uow.session.scalars(select(Payment).where(Payment.customer_id.is_not(None))
                                   .order_by(Payment.id)).all()
        assert [(p.account_number, p.status) for p in paid] == [
            (WATER_NUMBER, "succeeded"), (POWER_NUMBER, "succeeded")]
