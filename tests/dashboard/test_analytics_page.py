"""«Аналитика» in AppTest, per role: managers and admins see the tiles, the charts and
the export; finance looks (no export); agents have no such page."""
from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry
from core.actors import StaffRole
from core.payments.machine import PaymentStatus
from core.analytics import rollups
from tests.dashboard.helpers import button, shown, texts
from tests.factories.customers import register_and_activate
from tests.factories.billing import make_provider
from tests.factories.payments import make_payment



@pytest.fixture
def figures(dash_app):  # type: ignore[no-untyped-def]
    """Payments written straight into the tables (then the rollups rebuilt), a few days
    before the real today so that the page's default period (30 days) holds them."""
    now = dash_app.now()
    water = make_provider(dash_app, name="ГУП «Водоканал»")
    power = make_provider(dash_app, name="ООО «Энергосбыт»", pattern=r"\d{12}")
    login = register_and_activate(dash_app)
    at = datetime(now.year, now.month, now.day, 9, 0, tzinfo=UTC)
    make_payment(dash_app, provider_id=water, amount=150_000, commission=1_500,
                 customer_id=login.customer_id, created_at=at)
    make_payment(dash_app, provider_id=power, amount=250_050, commission=2_500,
                 customer_id=login.customer_id, created_at=at)
    make_payment(dash_app, provider_id=power, amount=99_000, status=PaymentStatus.DECLINED,
                 created_at=at, account_number="400000000001")
    with dash_app.uow() as uow:
        rollups.rebuild(uow.session)
        uow.commit()
    return {"water": water, "power": power}


def _open(at):  # type: ignore[no-untyped-def]
    at.switch_page("views/analytics.py").run()
    assert not at.exception, at.exception
    return at


def _metric(at, label: str):  # type: ignore[no-untyped-def]
    matches = [m for m in at.metric if m.label == label]
    assert matches, [m.label for m in at.metric]
    return matches[0]


SECTIONS = ("Платежи", "Поставщики и успешность", "Воронка и отказы", "Счета и подписки")


def on_every_tab(at) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    """The charts' tabs opened in turn (only the open tab's charts are drawn): the plotly
    charts and the tables of all of them; the first tab is open again at the end."""
    drawn, frames = [], []
    for section in (*SECTIONS[1:], SECTIONS[0]):
        at.session_state["an_section"] = section
        at.run()
        assert not at.exception, at.exception
        drawn += list(at.get("plotly_chart"))
        frames += [df.value for df in at.dataframe]
    return drawn, frames


def _titles(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [json.loads(e.proto.spec)["layout"]["title"]["text"] for e in at.get("plotly_chart")]


def _charts(at) -> int:  # type: ignore[no-untyped-def]
    return len(on_every_tab(at)[0])


def test_manager_sees_tiles_charts_and_exports(dash_app, logged_in, figures):
    at, manager = logged_in(StaffRole.MANAGER)
    _open(at)
    assert "Аналитика" in texts(at)
    assert _metric(at, "Успешных платежей").value == "2"
    assert _metric(at, "Сумма платежей").value == "4\u00a0000,50\u00a0₽"
    assert _metric(at, "Успешность платежей").value == "66,7\u00a0%"
    assert _metric(at, "Комиссия").value == "40,00\u00a0₽"
    assert _metric(at, "Средний платёж").value == "2\u00a0000,25\u00a0₽"
    assert _metric(at, "Успешных платежей").delta == "+2"  # nothing the period before
    # count, sum, by provider, success rate, funnel, declines, subscriptions
    drawn, frames = on_every_tab(at)
    assert len(drawn) >= 6
    declines = next(df for df in frames if "Причина" in df.columns)
    assert declines.to_dict("records") == [
        {"Причина": "Недостаточно средств", "Платежей": 1, "Доля": "100,0\u00a0%"}]

    button(at, "Выгрузить в Excel").click().run()
    assert not at.exception
    data = at.session_state["an_export_data"]
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert "Показатели" in book.sheetnames and "Причины отказов" in book.sheetnames
    with dash_app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "analytics.export",
            AuditEntry.staff_id == manager.staff_id)) == 1


def test_provider_filter_and_refresh(dash_app, logged_in, figures):
    at, _ = logged_in(StaffRole.ADMIN)
    _open(at)
    at.multiselect(key="an_providers").select(figures["water"])
    button(at, "Показать").click().run()
    assert not at.exception
    assert _metric(at, "Успешных платежей").value == "1"
    assert _metric(at, "Успешность платежей").value == "100,0\u00a0%"
    # A new payment shows after «Обновить» (the page is cached until then).
    make_payment(dash_app, provider_id=figures["water"], amount=10_000, commission=100,
                 created_at=dash_app.now())
    with dash_app.uow() as uow:
        rollups.rebuild(uow.session)
        uow.commit()
    at.run()
    assert _metric(at, "Успешных платежей").value == "1"
    button(at, "Обновить").click().run()
    assert _metric(at, "Успешных платежей").value == "2"


def test_bad_period_is_said_in_words(dash_app, logged_in, figures):
    at, _ = logged_in(StaffRole.MANAGER)
    _open(at)
    at.date_input(key="an_from").set_value(date(2026, 12, 1))
    at.date_input(key="an_to").set_value(date(2026, 11, 1))
    button(at, "Показать").click().run()
    assert not at.exception
    assert "Период: дата «с» позже даты «по»" in texts(at)
    assert not at.metric


def test_finance_views_without_export(dash_app, logged_in, figures):
    at, _ = logged_in(StaffRole.FINANCE)
    _open(at)
    assert _metric(at, "Успешных платежей").value == "2"
    assert _charts(at) >= 6
    assert "Выгрузить в Excel" not in [b.label for b in at.button]


def test_agent_has_no_analytics_page(dash_app, logged_in):
    at, _ = logged_in(StaffRole.AGENT)
    at.switch_page("views/analytics.py").run()  # its address says so, showing nothing of it
    assert [shown(e.value) for e in at.error] == ["Нет доступа к разделу «Аналитика»"]
    assert not at.metric


def test_each_tab_reads_and_draws_its_own_charts_only(dash_app, logged_in, figures):
    """Every chart is still there, one tab at a time, two a tab: the first view draws the
    payments' count and sum (the browser draws plotly charts one after another), the
    providers' and the success rate's, the funnel's and the subscriptions' are drawn only
    when their tab opens."""
    at, _ = logged_in(StaffRole.MANAGER)
    _open(at)
    assert [t.label for t in at.tabs] == list(SECTIONS)
    assert _titles(at) == ["Количество успешных платежей по дням", "Сумма платежей по дням"]
    assert "Данные: платежи" in [e.label for e in at.expander]
    assert not [df for df in at.dataframe if "Причина" in df.value.columns]
    at.session_state["an_section"] = "Поставщики и успешность"
    at.run()
    assert _titles(at) == ["Сумма платежей по поставщикам", "Успешность платежей"]
    at.session_state["an_section"] = "Воронка и отказы"
    at.run()
    assert _titles(at) == ["Кабинеты, зарегистрированные в периоде",
                           "Самые частые причины отказов"]
    assert [s.value for s in at.subheader] == ["Воронка", "Причины отказов"]
    funnel = next(df.value for df in at.dataframe if "Шаг" in df.value.columns)
    assert funnel["Кабинетов"].iloc[0] == 1  # the one cabinet registered in the period
    at.session_state["an_section"] = "Счета и подписки"
    at.run()
    assert _titles(at) == ["Активные кабинеты: на что подписаны"]
    assert [s.value for s in at.subheader] == ["Оплата счетов в срок", "Подписки по каналам"]
    assert "Счетов за месяцы этого периода нет" in texts(at)
    assert _metric(at, "Успешных платежей").value == "2"  # the tiles stay above the tabs
