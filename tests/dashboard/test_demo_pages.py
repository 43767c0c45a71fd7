"""The demo built today, seen on the pages as they open (issue 14, point 6): each page's
default period holds the demo's rows, and the simulated bank's registry of yesterday
reconciles with nothing missing on either side."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.actors import StaffRole
from core.demo.bank import seed_bank
from core.demo.rich import seed_demo
from core.finance.bank_registry import registry_for_period, write_registry_csv
from core.timefmt import format_date, moscow_date
from tests.dashboard.helpers import button, texts


@pytest.fixture
def demo(dash_app):  # type: ignore[no-untyped-def]
    """The demo as ``make run`` builds it, today (the real clock), with its bank."""
    seed_demo(dash_app, customers=60, seed=3)
    seed_bank(dash_app)
    return dash_app


def _open(at, page: str):  # type: ignore[no-untyped-def]
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_payouts_open_on_yesterday_with_the_demos_payments(demo, logged_in):
    at, _ = logged_in(StaffRole.FINANCE)
    _open(at, "views/payouts.py")
    yesterday = moscow_date(demo.now()) - timedelta(days=1)
    assert at.date_input(key="pout_day").value == yesterday
    assert "платежей и возвратов нет" not in texts(at)
    preview = at.dataframe[0].value
    assert "Поставщик" in preview.columns and len(preview) >= 1
    assert sum(preview["Платежей"]) >= 2


def test_payments_and_the_journal_open_on_rows_of_the_past(demo, logged_in):
    at, _ = logged_in(StaffRole.ADMIN)
    _open(at, "views/payments.py")
    assert "Платежей по этим условиям нет" not in texts(at)
    assert len(at.dataframe[0].value) > 0
    _open(at, "views/audit.py")
    assert len(at.dataframe[0].value) > 0


def test_analytics_opens_on_30_days_with_the_demos_payments(demo, logged_in):
    at, _ = logged_in(StaffRole.MANAGER)
    _open(at, "views/analytics.py")
    today = moscow_date(demo.now())
    assert at.date_input(key="an_from").value == today - timedelta(days=29)
    assert f"Период {format_date(today - timedelta(days=29))}" in texts(at)
    assert any(m.label == "Успешных платежей" and m.value not in ("0", "") for m in at.metric), \
        [(m.label, m.value) for m in at.metric]


def test_the_banks_registry_of_yesterday_reconciles_with_nothing_missing(demo, logged_in):
    yesterday = moscow_date(demo.now()) - timedelta(days=1)
    data = write_registry_csv(registry_for_period(demo, yesterday, yesterday))
    at, _ = logged_in(StaffRole.FINANCE)
    _open(at, "views/reconciliation.py")
    at.file_uploader(key="rec_file").set_value(("bank.csv", data, "text/csv"))
    button(at, "Сверить").click().run()
    assert not at.exception, at.exception
    summary = next(d.value for d in at.dataframe if "Класс" in d.value.columns)
    bank = dict(zip(summary["Класс"], summary["Строк банка"]))
    ours = dict(zip(summary["Класс"], summary["Операций у нас"]))
    assert bank["Совпало"] > 0
    for klass in ("Нет в реестре банка", "Нет у нас", "Расходится сумма"):
        assert (bank[klass], ours[klass]) == (0, 0), klass
