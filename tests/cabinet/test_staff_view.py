"""«Смотреть как клиент» in the cabinet: the back office's one-time link opens this
customer's own screens under a banner naming whose cabinet it is and who looks; every
acting button is disabled (and core would refuse it), the demo's panel of the customer's
codes is not shown, «Закончить просмотр» ends it; the link opens once."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core import customer_api as api
from core.actors import StaffRole
from core.customers import cabinet_view
from core.db.models import CustomerSession
from tests.cabinet.conftest import APP_FILE, cabinet
from tests.cabinet.test_demo_panel import PANEL, _demo_data
from tests.dashboard.helpers import button, texts
from tests.factories.billing import add_accounts, make_invoice, make_provider
from tests.factories.customers import make_staff
from tests.factories.payments import make_card
from streamlit.testing.v1 import AppTest

NUMBER = "5550001112"
# Every button or box of the logged-in pages that acts on the cabinet.
ACTING_KEYS = {
    "views/invoices.py": ["cab_pay_{invoice}", "cab_mark_{invoice}"],
    "views/settings.py": ["cab_bind_rename_{binding}", "cab_bind_remove_{binding}",
                          "cab_card_def_{second_card}", "cab_card_remove_{card}", "cab_block"],
}
ACTING_FORMS = ["Сохранить", "Изменить пароль", "Добавить", "Добавить карту"]


def _customer_with_things(app, customer):  # type: ignore[no-untyped-def]
    phone, own = customer(personal=api.PersonalData(surname="Петрова", first_name="Анна",
                                                    patronymic="Сергеевна"))
    provider_id = make_provider(app, name="ООО «Теплосеть»")
    account_id = add_accounts(app, provider_id, [NUMBER])[NUMBER]
    invoice = make_invoice(app, account_id, date(2026, 11, 1), 210_000)
    binding = api.bind_account(app, own.session_token, provider_id, NUMBER, "Дача")
    card = make_card(app, own.customer_id, last4="1111", is_default=True)
    second = make_card(app, own.customer_id, last4="2222", brand="mastercard")
    return phone, own, {"invoice": invoice, "binding": binding, "card": card,
                        "second_card": second}


def _open_link(app, customer_id: int, role: StaffRole = StaffRole.AGENT):  # type: ignore[no-untyped-def]
    agent = make_staff(app, role)
    link = cabinet_view.open_cabinet_view(app, agent, customer_id)
    at = AppTest.from_file(APP_FILE, default_timeout=60)
    at.query_params[cabinet_view.LINK_PARAMETER] = link.ticket
    return at.run(), agent, link


def test_the_link_shows_the_customers_own_screens_read_only(cab_app, customer):
    _demo_data(cab_app)  # the demo panel would show the customer's codes: it must not
    phone, own, ids = _customer_with_things(cab_app, customer)
    at, agent, _ = _open_link(cab_app, own.customer_id)
    assert not at.exception, at.exception
    said = texts(at)
    assert (f"Кабинет клиента Петрова Анна Сергеевна, {phone_shown(cab_app, own)}: просмотр "
            f"сотрудником Сотрудник {agent.login}. Только чтение, действия недоступны.") in said
    assert "Счета к оплате" in said and "ООО «Теплосеть»" in said
    assert PANEL not in said
    assert cabinet_view.LINK_PARAMETER not in at.query_params  # gone from the address bar
    for page, keys in ACTING_KEYS.items():
        at.switch_page(page).run()
        assert not at.exception, at.exception
        for key in keys:
            assert at.button(key=key.format(**ids)).disabled, (page, key)
    assert all(box.disabled for box in at.checkbox if box.key.startswith("cab_sub_"))
    submits = {b.label: b.disabled for b in at.button if b.label in ACTING_FORMS}
    assert submits == dict.fromkeys(ACTING_FORMS, True)
    # What it reads is the customer's own: the cards, the account's name.
    assert "Дача" in texts(at)
    assert button(at, "Закончить просмотр")


def test_finishing_the_view_ends_its_session_and_the_customers_stays(cab_app, customer):
    _, own, _ = _customer_with_things(cab_app, customer)
    at, _, _ = _open_link(cab_app, own.customer_id)
    at = button(at, "Закончить просмотр").click().run()
    assert "Просмотр кабинета закончен" in texts(at)
    assert at.text_input(key="cab_login_phone")  # the login form again
    with cab_app.uow(write=False) as uow:
        views = uow.session.execute(select(CustomerSession.end_reason).where(
            CustomerSession.viewer_staff_id.is_not(None))).scalars().all()
    assert views == ["logout"]
    assert api.current_customer_id(cab_app, own.session_token) == own.customer_id


def test_the_link_opens_once(cab_app, customer):
    _, own, _ = _customer_with_things(cab_app, customer)
    _, _, link = _open_link(cab_app, own.customer_id)
    again = AppTest.from_file(APP_FILE, default_timeout=60)
    again.query_params[cabinet_view.LINK_PARAMETER] = link.ticket
    again.run()
    assert not again.exception
    said = texts(again)
    assert "Ссылка на просмотр кабинета недействительна или устарела" in said
    assert "ООО «Теплосеть»" not in said and "Счета к оплате" not in [t.value for t in again.title]


def test_a_forged_link_opens_nothing(cab_app, customer):
    _, own, _ = _customer_with_things(cab_app, customer)
    at = cabinet()
    at.query_params[cabinet_view.LINK_PARAMETER] = own.session_token  # the customer's own
    at.run()
    assert "Ссылка на просмотр кабинета недействительна" in texts(at)
    assert "ООО «Теплосеть»" not in texts(at)


def phone_shown(app, own) -> str:  # type: ignore[no-untyped-def]
    return api.profile(app, own.session_token).phone
