"""Contact center: search, the customer card, notes, resending codes, roles and audit.
(Code word, block and unblock: test_contact_center_unblock.py.)"""
from __future__ import annotations

import pytest

from core.db.models import AuditEntry, OutboxMessage
from core.actors import PermissionDenied, StaffRole
from core.customers.rules import CabinetStatus, PersonalData
from core.customers.errors import AlreadyActivated
from core.security.errors import ResendTooSoon
from core.errors import ValidationError
from core.paging import PageRequest
from core.staff import audit
from core.customers import contact_center
from core.staff.audit import AuditFilter
from tests.factories.customers import make_staff, register, register_and_activate, sms_codes
from tests.factories.dbstate import count, snapshot

PAGE = PageRequest(1, 10)


@pytest.fixture
def people(app):
    """Three customers with known phones, e-mails and names."""
    ids = {
        "ivan": register_and_activate(
            app, phone="+7 912 345-67-89", email="Ivan.Petrov@Mail.ru",
            personal=PersonalData(surname="Петров", first_name="Иван")).customer_id,
        "olga": register(app, phone="+7 926 111-22-33", email="olga@yandex.ru",
                         personal=PersonalData(surname="Ёжикова", first_name="Ольга")),
        "anon": register(app, phone="+7 903 555-44-11", email="anon@example.ru"),
    }
    return ids




def _found(app, actor, query, page=PAGE):
    return [row.id for row in contact_center.search_customers(app, actor, query, page).items]


@pytest.mark.parametrize("query, who", [
    ("+7 (912) 345-67-89", "ivan"), ("89123456789", "ivan"), ("912 345 67 89", "ivan"),
    ("345-67", "ivan"), ("4567", "ivan"), ("111-22", "olga"), ("8 912 345", "ivan"),
    ("+7 912 345", "ivan"),
    ("ivan.petrov@mail.ru", "ivan"), ("IVAN.PETROV@", "ivan"), ("yandex", "olga"),
    ("петров", "ivan"), ("ИВАН", "ivan"), ("Петров Иван", "ivan"), ("ежикова", "olga"),
    ("ЁЖИК", "olga"), ("ольга", "olga"),
])
def test_search_finds_by_phone_email_or_name_in_any_form(app, agent, people, query, who):
    assert _found(app, agent, query) == [people[who]]


def test_search_finds_the_cabinet_of_a_payment_number(app, agent, people):
    from sqlalchemy import update

    from core.db.models import Payment
    from tests.factories.billing import make_provider
    from tests.factories.payments import make_payment

    provider = make_provider(app)
    paid = make_payment(app, provider_id=provider, customer_id=people["olga"], events=False)
    cashless = make_payment(app, provider_id=provider, events=False)  # no cabinet

    def renumber(payment_id: int, number: int) -> None:
        with app.uow() as uow:
            uow.session.execute(update(Payment).where(Payment.id == payment_id)
                                .values(id=number))
            uow.commit()

    renumber(paid, 20260)  # in no phone
    renumber(cashless, 20261)
    assert _found(app, agent, "20260") == [people["olga"]]
    assert _found(app, agent, "№ 20260") == [people["olga"]]
    assert _found(app, agent, "20261") == []  # a payment without a cabinet finds nobody
    assert _found(app, agent, "20262") == []
    assert _found(app, agent, "2147483648") == []  # beyond payments.id: no database error
    # «4567» is a part of Ivan's phone and Olga's payment number: both are found
    renumber(20260, 4567)
    page = contact_center.search_customers(app, agent, "4567", PAGE)
    assert sorted(row.id for row in page.items) == sorted([people["ivan"], people["olga"]])
    assert page.total == 2
    assert _found(app, agent, "№4567") == [people["olga"]]


def test_search_finds_the_cabinets_of_a_personal_account(app, agent, people):
    from tests.factories.billing import add_accounts, bind, make_provider

    water = make_provider(app)
    gas = make_provider(app, pattern=r"\d{3}-?\d{5}", hint="8 цифр")
    accounts = add_accounts(app, water, ["5550001112"])
    gas_accounts = add_accounts(app, gas, ["77700011"])
    bind(app, people["ivan"], accounts["5550001112"])
    bind(app, people["olga"], accounts["5550001112"], removed=True)  # no longer bound
    bind(app, people["olga"], gas_accounts["77700011"])
    assert _found(app, agent, "5550001112") == [people["ivan"]]
    assert _found(app, agent, "555 000 1112") == [people["ivan"]]  # as printed on a receipt
    assert _found(app, agent, "777-00011") == [people["olga"]]
    assert _found(app, agent, "5550001113") == []


def test_search_row_shows_formatted_phone_and_derived_status(app, agent, people):
    row = contact_center.search_customers(app, agent, "89123456789", PAGE).items[0]
    assert (row.phone, row.full_name, row.status) == (
        "+7 912 345-67-89", "Петров Иван", CabinetStatus.ACTIVE)
    olga = contact_center.search_customers(app, agent, "Ольга", PAGE).items[0]
    assert olga.status is CabinetStatus.PENDING_ACTIVATION


def test_search_pages_through_results(app, agent):
    ids = {register(app, phone=f"+7 912 000-00-{n:02d}", email=f"p{n}@example.ru")
           for n in range(12)}
    first = contact_center.search_customers(app, agent, "912 000", PageRequest(1, 10))
    second = contact_center.search_customers(app, agent, "912 000", PageRequest(2, 10))
    assert (first.total, second.total, first.pages) == (12, 12, 2)
    assert (len(first.items), len(second.items)) == (10, 2)
    first_ids, second_ids = {r.id for r in first.items}, {r.id for r in second.items}
    assert not first_ids & second_ids and first_ids | second_ids == ids
    assert contact_center.search_customers(app, agent, "912 000", PageRequest(3, 10)).items == []


@pytest.mark.parametrize("number, size, label", [(1, 7, "Строк на странице:"),
                                                 (1, 1000, "Строк на странице:"),
                                                 (0, 10, "Страница:"), (-1, 25, "Страница:")])
def test_bad_page_request_is_refused(number, size, label):
    with pytest.raises(ValidationError) as error:
        PageRequest(number, size)
    assert str(error.value).startswith(label)


@pytest.mark.parametrize("query", [
    "' OR 1=1 --", "<script>alert(1)</script>", "'; DROP TABLE customers; --",
    "%%", "__", "%_%", "\\\\", "\" OR \"\"=\"", "1' OR '1'='1", "@%",
])
def test_hostile_search_text_finds_nothing_and_harms_nothing(app, agent, people, query):
    before = snapshot(app)
    page = contact_center.search_customers(app, agent, query, PAGE)
    assert (page.items, page.total) == ([], 0)
    assert snapshot(app) == before


@pytest.mark.parametrize("query", ["x" * 10_000, "9" * 101, "", " ", "a"])
def test_bad_search_text_is_refused_naming_the_field(app, agent, people, query):
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        contact_center.search_customers(app, agent, query, PAGE)
    assert str(error.value).startswith("Поиск:")
    assert snapshot(app) == before


def _manager_calls(app, actor, customer_id):
    return [
        lambda: contact_center.search_customers(app, actor, "Петров", PAGE),
        lambda: contact_center.open_customer_card(app, actor, customer_id),
        lambda: contact_center.verify_code_word(app, actor, customer_id, "Ромашка"),
        lambda: contact_center.block(app, actor, customer_id, "Причина"),
        lambda: contact_center.unblock(app, actor, customer_id),
        lambda: contact_center.admin_unblock(app, actor, customer_id, "Причина"),
        lambda: contact_center.resend_activation_code(app, actor, customer_id),
        lambda: contact_center.clear_code_word_lock(app, actor, customer_id, "Причина"),
        lambda: contact_center.add_note(app, actor, customer_id, "Заметка"),
    ]


def test_manager_may_not_touch_customers(app, people):
    manager = make_staff(app, StaffRole.MANAGER)
    before = snapshot(app)
    for call in _manager_calls(app, manager, people["ivan"]):
        with pytest.raises(PermissionDenied, match="^Недостаточно прав"):
            call()
    assert snapshot(app) == before


def test_finance_may_search_and_view_but_not_act(app, people):
    finance = make_staff(app, StaffRole.FINANCE)
    assert _found(app, finance, "Петров") == [people["ivan"]]
    assert contact_center.open_customer_card(app, finance, people["ivan"]).id == people["ivan"]
    before = snapshot(app)
    for call in _manager_calls(app, finance, people["ivan"])[2:8]:
        with pytest.raises(PermissionDenied):
            call()
    assert snapshot(app) == before


def test_opening_a_card_is_audited_with_staff_and_customer(app, agent, admin, people):
    card = contact_center.open_customer_card(app, agent, people["ivan"])
    assert (card.full_name, card.phone, card.status) == (
        "Петров Иван", "+7 912 345-67-89", CabinetStatus.ACTIVE)
    rows = audit.list_entries(app, admin, AuditFilter(action="customer.card_view"), PAGE).items
    assert [(r.actor, r.customer_id, r.result) for r in rows] == [
        (f"Сотрудник {agent.login}", people["ivan"], "ok")]


def test_card_shows_activation_sms_only_redacted(app, agent, people):
    card = contact_center.open_customer_card(app, agent, people["olga"])
    assert len(card.messages) == 1
    assert "****" in card.messages[0].body
    assert not any(ch.isdigit() for ch in card.messages[0].body)


def test_note_is_stored_shown_on_the_card_and_audited(app, agent, admin, people):
    contact_center.add_note(app, agent, people["ivan"], "  Просил перезвонить вечером  ")
    notes = contact_center.open_customer_card(app, admin, people["ivan"]).notes
    assert [(n.text, n.author) for n in notes] == [
        ("Просил перезвонить вечером", f"Сотрудник {agent.login}")]
    rows = audit.list_entries(app, admin, AuditFilter(action="customer.note_add"), PAGE).items
    assert [(r.actor, r.customer_id) for r in rows] == [(f"Сотрудник {agent.login}",
                                                        people["ivan"])]


@pytest.mark.parametrize("text", ["", "   \n ", "x" * 2001])
def test_bad_note_is_refused_and_changes_nothing(app, agent, people, text):
    before = snapshot(app)
    with pytest.raises(ValidationError, match="^Заметка:"):
        contact_center.add_note(app, agent, people["ivan"], text)
    assert snapshot(app) == before


def test_agent_resends_the_activation_code_and_it_is_audited(app, clock, agent, admin, people):
    first = sms_codes(app)
    with pytest.raises(ResendTooSoon):
        contact_center.resend_activation_code(app, agent, people["olga"])
    clock.advance(seconds=61)
    queued = count(app, OutboxMessage)
    contact_center.resend_activation_code(app, agent, people["olga"])
    assert count(app, OutboxMessage) == queued + 1
    assert len(sms_codes(app)) == len(first) + 1
    rows = audit.list_entries(app, admin, AuditFilter(action="customer.activation_resend"),
                              PAGE).items
    assert [(r.actor, r.customer_id) for r in rows] == [(f"Сотрудник {agent.login}",
                                                        people["olga"])]


def test_resend_is_refused_for_an_active_cabinet(app, clock, agent, people):
    clock.advance(minutes=5)
    before = snapshot(app)
    with pytest.raises(AlreadyActivated):
        contact_center.resend_activation_code(app, agent, people["ivan"])
    assert snapshot(app) == before


def test_agent_sees_only_own_actions_in_the_audit_log(app, admin, people):
    agent_a, agent_b = make_staff(app), make_staff(app)
    contact_center.open_customer_card(app, agent_a, people["ivan"])
    contact_center.add_note(app, agent_b, people["olga"], "Заметка Б")
    for flt in (AuditFilter(), AuditFilter(staff_id=agent_b.staff_id)):
        rows = audit.list_entries(app, agent_a, flt, PAGE).items
        assert [(r.action, r.actor) for r in rows] == [
            ("customer.card_view", f"Сотрудник {agent_a.login}")]
    everyone = audit.list_entries(app, admin, AuditFilter(), PageRequest(1, 100))
    assert everyone.total == count(app, AuditEntry)
    assert {"customer.card_view", "customer.note_add"} <= {r.action for r in everyone.items}


def test_only_what_can_be_part_of_a_mobile_phone_is_looked_for_in_phones() -> None:
    from core.customers.phone_search import may_be_in_a_phone as _may_be_in_a_phone

    # Stored phones are +79XXXXXXXXX: a 10-digit account starting with 4 is no part of one.
    assert [_may_be_in_a_phone(d) for d in ("4000000123", "19123456789", "791234567890")] == \
        [False, False, False]
    assert [_may_be_in_a_phone(d) for d in ("9123456789", "79123456789", "4567", "123456789")] \
        == [True, True, True, True]


def test_a_whole_account_number_is_looked_for_in_phones_too(app, agent, people):
    from tests.factories.billing import add_accounts, bind, make_provider

    gas = make_provider(app, pattern=r"\d{7}", hint="7 цифр")
    accounts = add_accounts(app, gas, ["1234567"])  # also digits of Ivan's +7 912 345-67-89
    bind(app, people["olga"], accounts["1234567"])
    # The caller may read out an account or seven digits of the phone: both are offered.
    assert sorted(_found(app, agent, "1234567")) == sorted([people["olga"], people["ivan"]])
    assert _found(app, agent, "2345678") == [people["ivan"]]  # no such key: a phone part
    assert sorted(_found(app, agent, "4567")) == sorted([people["ivan"]])  # short: phones
