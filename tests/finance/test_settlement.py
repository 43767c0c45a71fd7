"""The acquirer's registry of a day, booked once into the ledger."""
from __future__ import annotations

import pytest

from core.cli import main as cli_main
from core.actors import StaffRole
from core.finance import ledger, settlement
from core.payments import refunds
from core.timefmt import moscow_date
from tests.factories.customers import make_staff
from tests.factories.payment_flow import DECLINED_CARD, pay_invoice, payer


def _balances(app):
    with app.uow(write=False) as uow:
        assert ledger.check(uow.session).ok
        return ledger.balances(uow.session)


def test_a_day_is_booked_net_of_refunds_and_only_once(app, clock) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    first = pay_invoice(app, payer(app, total_due=100_000))   # 1 000 ₽ + 10 ₽ commission
    pay_invoice(app, payer(app, total_due=200_000))           # 2 000 ₽ + 20 ₽
    pay_invoice(app, payer(app), DECLINED_CARD)                # not in the registry
    refunds.refund(app, finance, first.id, "300", "Ошибка в сумме")
    day = moscow_date(app.now())
    result = settlement.settle_day(app, day)
    assert (result.lines, result.payments_total.kopecks, result.refunds_total.kopecks) == (
        3, 303_000, 30_000)
    balances = _balances(app)
    assert balances.bank == 273_000 and balances.clearing == 0
    with pytest.raises(settlement.AlreadySettled, match="уже проведён"):
        settlement.settle_day(app, day)
    assert _balances(app).bank == 273_000


def test_a_day_with_more_refunds_than_charges_takes_money_back(app, clock) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    paid = pay_invoice(app, payer(app, total_due=100_000))
    settlement.settle_day(app, moscow_date(app.now()))
    clock.advance(days=1)
    refunds.refund(app, finance, paid.id, "1000", "Возврат по заявлению")
    result = settlement.settle_day(app, moscow_date(app.now()))
    assert result.net.kopecks == -100_000
    balances = _balances(app)
    assert balances.bank == 1_000 and balances.clearing == 0  # the commission stays ours


def test_the_worker_books_yesterday_once(app, clock) -> None:
    pay_invoice(app, payer(app, total_due=100_000))
    clock.advance(days=1)
    assert settlement.settle_yesterday(app).payments_total.kopecks == 101_000
    assert settlement.settle_yesterday(app) is None


def test_cli_ledger_settle(app, monkeypatch, capsys) -> None:
    pay_invoice(app, payer(app, total_due=100_000))
    monkeypatch.setattr("core.cli._app", lambda: app)
    day = moscow_date(app.now()).isoformat()
    assert cli_main(["ledger", "settle", "--day", day]) == 0
    assert "к зачислению 1\u00a0010,00\u00a0₽" in capsys.readouterr().out
    assert cli_main(["ledger", "settle", "--day", day]) == 2
    assert "уже проведён" in capsys.readouterr().err
    assert cli_main(["ledger", "settle", "--day", "24.11.2026"]) == 2
    assert "ГГГГ-ММ-ДД" in capsys.readouterr().err
