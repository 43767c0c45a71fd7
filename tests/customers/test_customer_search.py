"""The contact center's search by a part of a phone, and its «Статус» filter."""
from __future__ import annotations

import pytest

from core.customers import contact_center
from core.customers.phone_search import PHONE_RUN_MIN, RANGES_MAX, phone_beginnings
from core.customers.rules import CabinetStatus
from core.errors import ValidationError
from core.paging import PageRequest
from tests.factories.customers import register, register_and_activate
from tests.factories.dbstate import snapshot

PAGE = PageRequest(1, 10)


@pytest.fixture
def phones(app):
    """The issue's caller (+7 916 852-96-93) among neighbours sharing parts of the number."""
    return {
        "caller": register(app, phone="+7 916 852-96-93", email="caller@example.ru"),
        "tail": register(app, phone="+7 925 000-96-93", email="tail@example.ru"),  # «96-93»
        "head": register(app, phone="+7 916 852-00-11", email="head@example.ru"),  # «916 852»
        "eights": register(app, phone="+7 985 296-90-00", email="eights@example.ru"),
        "other": register(app, phone="+7 903 123-45-67", email="other@example.ru"),
    }


def _found(app, actor, query, status=None):
    extra = {} if status is None else {"status": status}
    page = contact_center.search_customers(app, actor, query, PAGE, **extra)
    return sorted(row.id for row in page.items)


def _ids(phones, *names):
    return sorted(phones[n] for n in names)


@pytest.mark.parametrize("query, who", [
    # the last seven digits, however they are written
    ("852-96-93", ["caller"]), ("8529693", ["caller"]), ("852 96 93", ["caller"]),
    ("852.96.93", ["caller"]), ("(852) 96-93", ["caller"]), (" 852-96-93 ", ["caller"]),
    # a shorter run, anywhere in the number
    ("96-93", ["caller", "tail"]), ("2969", ["caller", "eights"]),
    ("852-9", ["caller", "eights"]), ("16 852", ["caller", "head"]), ("5296", ["caller", "eights"]),
    # the beginning, after +7 or 8
    ("+7 (916) 852", ["caller", "head"]), ("+7 916 852-9", ["caller"]),
    ("8 (916) 852", ["caller", "head"]), ("8-916-852-96", ["caller"]),
    ("8916852", ["caller", "head"]), ("+7916", ["caller", "head"]),
    # «8 5…» is no beginning of a mobile: the 8 is a digit of the run
    ("85296", ["caller", "eights"]),
    # the whole number
    ("+7 (916) 852-96-93", ["caller"]), ("89168529693", ["caller"]), ("9168529693", ["caller"]),
    ("+7 916 852 96 93", ["caller"]),
])
def test_any_run_of_four_or_more_digits_finds_the_phones_holding_it(
        app, agent, phones, query, who):
    assert _found(app, agent, query) == _ids(phones, *who)


@pytest.mark.parametrize("query", ["852-96-94", "8529694", "+7 (916) 853", "+1 916 852",
                                   "0000000", "99999999999", "+7 852-96-94"])
def test_a_run_that_is_in_no_phone_finds_nobody(app, agent, phones, query):
    assert _found(app, agent, query) == []


@pytest.mark.parametrize("query", ["969", "96-9", "852", "+7 9", "93"])
def test_fewer_than_four_digits_are_not_looked_for_in_phones(app, agent, phones, query):
    # «852» is in two phones here and «969» in three: too short to mean one caller.
    before = snapshot(app)
    assert _found(app, agent, query) == []
    assert snapshot(app) == before


def test_a_short_number_is_still_a_payment_number(app, agent, phones):
    from sqlalchemy import update

    from core.db.models import Payment
    from tests.factories.billing import make_provider
    from tests.factories.payments import make_payment

    paid = make_payment(app, provider_id=make_provider(app), customer_id=phones["other"],
                        events=False)
    with app.uow() as uow:
        uow.session.execute(update(Payment).where(Payment.id == paid).values(id=852))
        uow.commit()
    assert _found(app, agent, "852") == [phones["other"]]  # the payment, not the phones


def test_seven_digits_that_are_also_a_payment_number_find_both(app, agent, phones):
    from sqlalchemy import update

    from core.db.models import Payment
    from tests.factories.billing import make_provider
    from tests.factories.payments import make_payment

    paid = make_payment(app, provider_id=make_provider(app), customer_id=phones["other"],
                        events=False)
    with app.uow() as uow:
        uow.session.execute(update(Payment).where(Payment.id == paid).values(id=8529693))
        uow.commit()
    assert _found(app, agent, "8529693") == _ids(phones, "caller", "other")
    assert _found(app, agent, "№ 8529693") == [phones["other"]]


def test_a_long_run_is_a_few_ranges_of_the_phone_index_not_a_scan():
    # Seven digits stand at five places of «79» + nine digits; at most two free before.
    beginnings = phone_beginnings("8529693")
    assert beginnings is not None and len(beginnings) <= RANGES_MAX
    assert "79168529693" in beginnings  # the caller's: «79», «16» free, the run
    assert all(len(b) <= 11 and b.startswith("79") for b in beginnings)
    assert phone_beginnings("529693") is None  # six digits: 1,113 places, scanned instead
    assert PHONE_RUN_MIN == 4


@pytest.fixture
def states(app, agent):
    """Three cabinets of the same phone prefix, one in each state."""
    active = register_and_activate(app, phone="+7 917 000-00-01",
                                   email="active@example.ru").customer_id
    pending = register(app, phone="+7 917 000-00-02", email="pending@example.ru")
    blocked = register_and_activate(app, phone="+7 917 000-00-03",
                                    email="blocked@example.ru").customer_id
    contact_center.block(app, agent, blocked, "Клиент сообщил о краже телефона")
    return {"active": active, "pending": pending, "blocked": blocked}


@pytest.mark.parametrize("status, who", [
    (None, ["active", "pending", "blocked"]), ("", ["active", "pending", "blocked"]),
    (CabinetStatus.ACTIVE, ["active"]), ("active", ["active"]),
    (CabinetStatus.PENDING_ACTIVATION, ["pending"]), (CabinetStatus.BLOCKED, ["blocked"]),
])
def test_status_filter_keeps_the_cabinets_in_that_state(app, agent, states, status, who):
    page = contact_center.search_customers(app, agent, "917 000", PAGE, status=status)
    assert sorted(r.id for r in page.items) == sorted(states[w] for w in who)
    assert page.total == len(who)
    assert all(r.status is CabinetStatus(status) for r in page.items) if status else True


def test_status_filter_applies_to_every_kind_of_search(app, agent, states):
    assert _found(app, agent, "blocked@example.ru", CabinetStatus.ACTIVE) == []
    assert _found(app, agent, "blocked@example.ru", CabinetStatus.BLOCKED) == [states["blocked"]]
    assert _found(app, agent, "0000003", CabinetStatus.BLOCKED) == [states["blocked"]]
    assert _found(app, agent, "0000003", CabinetStatus.PENDING_ACTIVATION) == []


def test_an_unblocked_cabinet_leaves_the_blocked_filter(app, agent, admin, states):
    contact_center.admin_unblock(app, admin, states["blocked"], "Ошибка оператора")
    assert _found(app, agent, "917 000", CabinetStatus.BLOCKED) == []
    assert _found(app, agent, "917 000", CabinetStatus.ACTIVE) == sorted(
        [states["active"], states["blocked"]])


def test_export_keeps_the_status_filter(app, agent, states):
    from io import BytesIO

    from openpyxl import load_workbook

    data = contact_center.export_customer_search(app, agent, "917 000", CabinetStatus.BLOCKED)
    sheet = load_workbook(BytesIO(data)).active
    emails = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True) if row[2]]
    assert emails == ["blocked@example.ru"]


@pytest.mark.parametrize("status", ["closed", "Заблокирован", "BLOCKED", "all"])
def test_unknown_status_is_refused_naming_the_field(app, agent, states, status):
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        contact_center.search_customers(app, agent, "917 000", PAGE, status=status)
    assert str(error.value).startswith("Статус:")
    with pytest.raises(ValidationError):
        contact_center.export_customer_search(app, agent, "917 000", status)
    assert snapshot(app) == before
