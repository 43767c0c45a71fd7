"""«Реестры перечислений» in AppTest: finance previews yesterday and produces a registry;
agents and managers have no such page."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Payout
from core.actors import StaffRole
from tests.dashboard.helpers import button, confirm, shown, texts
from tests.factories.billing import make_provider
from tests.factories.payments import make_payment, make_refund

PAGE = "views/payouts.py"


@pytest.fixture
def yesterday(dash_app):  # type: ignore[no-untyped-def]
    """Yesterday (Moscow): water 1 500,00 + 800,00 with a 300,00 refund; power 250,00."""
    at = dash_app.now() - timedelta(days=1)
    water = make_provider(dash_app, name="ГУП «Водоканал»")
    power = make_provider(dash_app, name="ООО «Энергосбыт»", pattern=r"\d{12}")
    first = make_payment(dash_app, provider_id=water, amount=150_000, commission=1_500,
                         created_at=at)
    make_payment(dash_app, provider_id=water, amount=80_000, commission=1_000, created_at=at)
    make_payment(dash_app, provider_id=power, amount=25_000, commission=250, created_at=at,
                 account_number="400000000001")
    make_payment(dash_app, provider_id=water, amount=99_000, status="declined", created_at=at)
    return {"water": water, "power": power, "first": first, "at": at}


def _open(at):  # type: ignore[no-untyped-def]
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_finance_previews_yesterday_and_produces_a_registry(dash_app, logged_in, yesterday):
    at, finance = logged_in(StaffRole.FINANCE)
    # The refund completes now (today): it belongs to today's payout, not yesterday's.
    make_refund(dash_app, yesterday["first"], 30_000, staff_id=finance.staff_id)
    _open(at)
    assert "Реестры перечислений" in texts(at)
    preview = at.dataframe[0].value
    assert preview["Поставщик"].tolist() == ["ГУП «Водоканал»", "ООО «Энергосбыт»"]
    assert preview["Платежей"].tolist() == [2, 1]
    assert preview["К перечислению"].tolist() == ["2\u00a0300,00\u00a0₽", "250,00\u00a0₽"]
    assert preview["Комиссия агента"].tolist() == ["25,00\u00a0₽", "2,50\u00a0₽"]
    assert preview["Реестр"].tolist() == ["не сформирован", "не сформирован"]

    at.button(key=f"pout_make_{yesterday['water']}").click().run()
    assert not at.exception, at.exception
    assert "будет перечислено 2\u00a0300,00\u00a0₽" in "\n".join(shown(m.value) for m in at.markdown)
    confirm(at)
    assert not at.exception, at.exception
    assert ("Реестр перечислений поставщику «ГУП «Водоканал»» за "
            in texts(at)) and "сформирован: к перечислению 2\u00a0300,00\u00a0₽" in texts(at)
    with dash_app.uow(write=False) as uow:
        payout = uow.session.scalars(select(Payout)).one()
    assert (payout.provider_id, payout.net_amount, payout.staff_id) == \
        (yesterday["water"], 230_000, finance.staff_id)
    assert at.dataframe[0].value["Реестр"].tolist() == [f"№ {payout.id}", "не сформирован"]
    assert not [b for b in at.button if b.key == f"pout_make_{yesterday['water']}"]

    produced = at.dataframe[-1].value
    assert produced["№ реестра"].tolist() == [payout.id]
    assert produced["К перечислению"].tolist() == ["2\u00a0300,00\u00a0₽"]
    button(at, "Реестр в CSV").click().run()
    assert not at.exception, at.exception
    download = [b for b in at.get("download_button")]
    assert download, "no download button after «Реестр в CSV»"
    with dash_app.uow(write=False) as uow:
        entry = uow.session.scalars(select(AuditEntry)
                                    .where(AuditEntry.action == "payout.export")).one()
    assert entry.after["format"] == "csv" and entry.staff_id == finance.staff_id



def test_admin_has_the_page(dash_app, logged_in, yesterday):
    at, _ = logged_in(StaffRole.ADMIN)
    _open(at)
    assert len(at.dataframe[0].value) == 2
    assert "Сформированных реестров по этим условиям нет" in texts(at)


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.MANAGER])
def test_agents_and_managers_have_no_payouts_page(dash_app, logged_in, role):
    at, _ = logged_in(role)
    at.switch_page(PAGE).run()  # its address says so, showing nothing of it
    assert [shown(e.value) for e in at.error] == ["Нет доступа к разделу «Реестры перечислений»"]
    assert "Реестры перечислений" not in [p for p in texts(at).splitlines()]
