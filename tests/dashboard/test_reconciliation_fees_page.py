"""The run card of «Сверка» with the bank's commission (issue 15, point 7) and the CSV
export beside the Excel one (point 9), in AppTest."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.actors import StaffRole
from core.db.models import AuditEntry
from core.finance import reconciliation as rec
from core.finance.bank_registry import registry_for_period
from core.money import format_kopecks
from core.timefmt import moscow_date
from tests.dashboard.helpers import button, table_with, texts
from tests.factories.customers import make_staff
from tests.factories.payment_flow import pay_invoice, payer
from tests.finance.test_reconciliation_fees import PROFILE, WRONG_BY, _fee, _fee_file

PAGE = "views/reconciliation.py"


def _run(app) -> tuple[int, str, int, int]:  # type: ignore[no-untyped-def]
    """Two real payments and the bank's file of them with its commission, one line
    WRONG_BY over the tariff: the run's id, that line's txn id, the fee and the net."""
    for _ in range(2):
        pay_invoice(app, payer(app))
    today = moscow_date(app.now())
    lines = registry_for_period(app, today - timedelta(days=1), today)
    wrong = lines[0].gateway_txn_id
    run = rec.reconcile(app, make_staff(app, StaffRole.FINANCE), "fee_net.csv",
                        _fee_file(lines, wrong), profile=PROFILE)
    fee = sum(_fee(x) for x in lines) + WRONG_BY
    return run.id, wrong, fee, sum(x.amount_kopecks for x in lines) - fee


def test_the_run_card_shows_the_fees_the_days_and_the_lines_off_the_tariff(dash_app,
                                                                          logged_in):
    run_id, wrong, fee, net = _run(dash_app)
    at, actor = logged_in(StaffRole.FINANCE)
    at.switch_page(PAGE)
    at.query_params["run"] = str(run_id)
    at.run()
    assert not at.exception, at.exception
    assert "Комиссия банка и перечисление" in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Комиссия банка"] == format_kopecks(fee)
    assert metrics["Банк перечисляет"] == format_kopecks(net)
    assert metrics["Комиссия не по тарифу"] == "1 из 2"
    days = table_with(at, "Банк перечисляет")
    assert days["Банк перечисляет"].tolist() == [format_kopecks(net)]
    assert days["Расчёт с эквайером"].tolist() == ["не проведён"]
    off = table_with(at, "По тарифу")
    assert off["ID транзакции"].tolist() == [wrong]
    assert off["Разница"].tolist() == [format_kopecks(WRONG_BY)]

    button(at, "Выгрузить в CSV").click().run()
    assert not at.exception, at.exception
    data = at.session_state[f"rec_{run_id}_csv"]
    assert data.startswith("\ufeffКласс;Строка файла".encode("utf-8"))
    with dash_app.uow(write=False) as uow:
        journal = [(e.staff_id, e.after["format"]) for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "reconciliation.export"))]
    assert journal == [(actor.staff_id, "csv")]
