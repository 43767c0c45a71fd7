"""«Смотреть как клиент» on the customer card: agents and administrators get a one-time
link to the cabinet's own screens (journaled on the click); finance reads the card without
it. The link's ticket opens the customer's cabinet read-only."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from core import customer_api as api
from core.actors import StaffRole
from core.db.models import AuditEntry
from tests.dashboard.helpers import button, open_first_card, search, texts
from tests.factories.customers import register_and_activate

PHONE = "+79993332211"


def _links(at):  # type: ignore[no-untyped-def]
    return [e.proto for e in at.get("link_button")]


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.ADMIN])
def test_the_card_gives_a_one_time_link_to_the_customers_cabinet(dash_app, logged_in, role):
    login = register_and_activate(dash_app, phone=PHONE)
    at, staff = logged_in(role)
    search(at, PHONE)
    open_first_card(at)
    assert _links(at) == []  # made on the click, not on every look at the card
    at = button(at, "Смотреть как клиент").click().run()
    assert not at.exception, at.exception
    [link] = _links(at)
    assert link.label == "Открыть кабинет клиента"
    url = urlparse(link.url)
    assert f"{url.scheme}://{url.netloc}" == dash_app.settings.cabinet_url
    assert "Ссылка открывается один раз" in texts(at)
    with dash_app.uow(write=False) as uow:
        journal = uow.session.execute(select(AuditEntry.staff_id, AuditEntry.customer_id).where(
            AuditEntry.action == "customer.cabinet_view")).all()
    assert journal == [(staff.staff_id, login.customer_id)]
    [ticket] = parse_qs(url.query)["view"]
    view = api.enter_cabinet_view(dash_app, ticket)
    assert view.customer_id == login.customer_id
    assert api.profile(dash_app, view.session_token).viewed_by == f"Сотрудник {staff.login}"


def test_finance_reads_the_card_without_looking_into_the_cabinet(dash_app, logged_in):
    register_and_activate(dash_app, phone=PHONE)
    at, _ = logged_in(StaffRole.FINANCE)
    search(at, PHONE)
    open_first_card(at)
    assert not at.exception
    assert PHONE[-4:] in texts(at).replace("-", "")
    assert "Смотреть как клиент" not in [b.label for b in at.button]
