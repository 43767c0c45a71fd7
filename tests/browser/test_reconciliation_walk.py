"""A bank's own registry reconciled in a real headless Chromium against `streamlit run`:
the finance officer sets up the bank's profile on «Сверка» › «Профили банков», uploads
the bank's file (no transaction id column, the date and the time in two columns, the
bank's own operation words), sees the profile detected and the first rows previewed,
runs the reconciliation, pairs by hand the line whose card the bank mistyped with the
payment it is (the page suggests it), resolves the bank's unknown line with what was
done, and the run closes.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from core.actors import StaffRole
from core.db.models import AuditEntry, ReconciliationItem, ReconciliationRun
from core.finance.bank_registry import registry_for_period
from core.payments import gateway as g
from core.timefmt import MOSCOW, moscow_date
from tests.browser.harness import (  # skips the module without chromium or playwright
    TIMEOUT, login, page_shown, settled, sync_api,
)
from tests.factories.customers import make_staff
from tests.factories.payment_flow import pay_invoice, payer

pytestmark = pytest.mark.browser
HEADER = "Дата платежа;Время;Тип;Референс;Номер карты;Сумма платежа"
PROFILE = "Банк Восток"
SHOTS = os.environ.get("SCREENSHOTS_DIR")  # where to keep the pages' pictures, if set


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def _mistyped(pan: str) -> str:
    """The card mask with its last digit changed: the bank's typo."""
    last = pan[-1]
    return pan[:-1] + ("1" if last != "1" else "2")


def _bank_file(lines: list[g.SettlementLine]) -> bytes:
    """The bank's layout: Windows-1251, «;», date and time apart, «Покупка ЖКУ»,
    amounts with grouped thousands, no transaction id."""
    rows = [HEADER]
    for line in lines:
        moment = line.time.astimezone(MOSCOW)
        rubles = f"{line.amount_kopecks // 100:,}".replace(",", " ")
        rows.append(";".join((moment.strftime("%d.%m.%Y"), moment.strftime("%H:%M:%S"),
                              "Покупка ЖКУ", line.rrn, line.masked_pan,
                              f"{rubles},{line.amount_kopecks % 100:02d}")))
    return ("\r\n".join(rows) + "\r\n").encode("cp1251")


def _choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option).first.click()
    settled(page)


def _confirm(page, reason_label: str, text: str) -> None:  # type: ignore[no-untyped-def]
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(reason_label, exact=True).fill(text)
    dialog.get_by_role("button", name="Подтвердить").click()
    settled(page)


def test_a_banks_file_is_set_up_previewed_reconciled_paired_and_resolved(
        server, browser, tmp_path):  # type: ignore[no-untyped-def]
    app, base = server["app"], str(server["base"])
    paid = [pay_invoice(app, payer(app, total_due=total)) for total in
            (123_400, 215_000, 318_750)]
    day = moscow_date(app.now())
    lines = registry_for_period(app, day, day)
    ours = {p.id for p in paid}
    assert len(lines) == len(ours)
    # The bank lost our last payment's RRN and mistyped its card; it also lists a
    # payment nobody made with us.
    lost = lines[-1]
    edited = [*lines[:-1], replace(lost, rrn="", masked_pan=_mistyped(lost.masked_pan)),
              g.SettlementLine("", "699999999999", "220000******0004", 77_700,
                               g.Operation.PAYMENT, lost.time)]
    registry = tmp_path / "vostok_registry.csv"
    registry.write_bytes(_bank_file(edited))
    finance = make_staff(app, StaffRole.FINANCE)

    expect = sync_api.expect
    context = browser.new_context(viewport={"width": 1500, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        login(page, base, finance.login)
        page_shown(page, "Клиенты")
        page.goto(f"{base}/reconciliation")
        page_shown(page, "Сверка с реестром банка")

        # The profile, set up once for this bank.
        page.get_by_text("Профили банков", exact=True).click()
        settled(page)
        form = page.get_by_test_id("stForm").filter(
            has=page.get_by_label("Название профиля", exact=True))
        for label, value in (("Название профиля", PROFILE), ("Дата операции", "Дата платежа"),
                             ("Время операции", "Время"), ("Операция", "Тип"),
                             ("RRN", "Референс"), ("Карта", "Номер карты"),
                             ("Сумма", "Сумма платежа"),
                             ("Слова для оплаты (через «;»)", "Покупка ЖКУ"),
                             ("Слова для возврата (через «;»)", "Отмена ЖКУ")):
            form.get_by_label(label, exact=True).fill(value)
        form.get_by_role("button", name="Сохранить", exact=True).click()
        settled(page)
        expect(page.get_by_text("Профиль сохранён").first).to_be_visible()

        # The file: the profile found by its header, the first rows as they will be read.
        uploader = page.get_by_test_id("stFileUploader").filter(has_text="Реестр банка")
        uploader.locator("input[type=file]").set_input_files(str(registry))
        settled(page)
        expect(page.get_by_text(f"Определён профиль: {PROFILE}")).to_be_visible()
        expect(page.get_by_text("Предпросмотр", exact=True)).to_be_visible()
        expect(page.get_by_text("Первые строки файла", exact=False)).to_be_visible()
        expect(page.get_by_text("Сверка такой файл не примет")).to_have_count(0)
        _shot(page, "reconciliation_preview.png")

        page.get_by_role("button", name="Сверить").click()
        settled(page)
        expect(page.get_by_text("выполнена: строк в реестре 4, расхождений 3")).to_be_visible()
        expect(page.get_by_role("heading", name="Сверка № 1", exact=False)).to_be_visible()

        # The suggested pair: the same amount on the same day, the card one digit apart.
        expect(page.get_by_role("heading", name="Сопоставление вручную")).to_be_visible()
        expect(page.get_by_text("Возможные пары", exact=False)).to_be_visible()
        _shot(page, "reconciliation_run.png")
        page.get_by_role("button", name="Сопоставить", exact=True).click()
        settled(page)
        _confirm(page, "Причина", "Банк ошибся в цифре карты: та же сумма в тот же день")
        expect(page.get_by_text("Строка банка сопоставлена с платежом").first).to_be_visible()

        # The bank's unknown line: reported to the bank.
        _choose(page, "Класс", "Нет у нас (2)")
        _choose(page, "Расхождение", "строка 5")  # line 4 is the pair's, resolved
        _choose(page, "Что сделано", "Сообщено банку об ошибке")
        page.get_by_role("button", name="Разрешить", exact=True).click()
        settled(page)
        _confirm(page, "Комментарий", "Письмо в банк: операции 699999999999 у нас нет")
        expect(page.get_by_text("Расхождение разрешено").first).to_be_visible()
        _shot(page, "reconciliation_closed.png")
    finally:
        context.close()

    with app.uow(write=False) as uow:
        s = uow.session
        run = s.scalars(select(ReconciliationRun)).one()
        items = s.scalars(select(ReconciliationItem).where(
            ReconciliationItem.klass != "matched")).all()
        actions = s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("reconciliation.%")).order_by(AuditEntry.id)).all()
        profile_saved = s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("bank_profile.%"))).all()
    kinds = {item.klass: item for item in items if item.bank_rrn != "699999999999"}
    unknown = next(item for item in items if item.bank_rrn == "699999999999")
    assert unknown.resolution_kind == "bank_error"
    assert kinds["missing_at_ours"].paired_item_id == kinds["missing_at_bank"].id
    assert kinds["missing_at_ours"].payment_id == paid[-1].id
    assert {i.resolution_kind for i in kinds.values()} == {"paired"}
    assert run.closed_at is not None and run.bank_lines == 4
    assert actions[:1] == ["reconciliation.run"] and "reconciliation.pair" in actions
    assert "reconciliation.resolve" in actions and profile_saved
