"""«Личные данные» and the code word, changed by the customer."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Customer
from core.customers.rules import PersonalData
from core.customers.errors import SessionInvalid, WrongPassword
from core.errors import ValidationError
from core.paging import PageRequest
from core.customers import contact_center, cabinet
from tests.factories.customers import CODE_WORD, PASSWORD, make_staff, register_and_activate
from tests.factories.dbstate import snapshot

PERSONAL = PersonalData(surname="Соколова", first_name="Алёна", patronymic="Петровна",
                        birth_date=date(1990, 5, 17), address="г. Казань, ул. Баумана, 5")


def test_update_profile_saves_optional_fields(app, clock):
    login = register_and_activate(app)
    cabinet.update_profile(app, login.session_token, PERSONAL)
    with app.uow(write=False) as uow:
        c = uow.session.get(Customer, login.customer_id)
        saved = (c.surname, c.first_name, c.patronymic, c.birth_date, c.address)
        entry = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "customer.profile_update")).one()
        audit = (entry.customer_id, entry.before["surname"], entry.after["surname"])
    assert saved == ("Соколова", "Алёна", "Петровна", date(1990, 5, 17),
                     "г. Казань, ул. Баумана, 5")
    assert audit == (login.customer_id, None, "Соколова")


@pytest.mark.parametrize("query", ["соколова", "СОКОЛОВА", "Алена", "алёна петровна",
                                   "Сокол", "ПЕТРОВНА"])
def test_saved_name_becomes_searchable_in_the_contact_center(app, query):
    login = register_and_activate(app)
    register_and_activate(app)  # someone without a name
    cabinet.update_profile(app, login.session_token, PERSONAL)
    agent = make_staff(app)
    page = contact_center.search_customers(app, agent, query, PageRequest(1, 10))
    assert [row.id for row in page.items] == [login.customer_id]
    assert page.items[0].full_name == "Соколова Алёна Петровна"


def test_clearing_a_field_removes_it(app):
    login = register_and_activate(app)
    cabinet.update_profile(app, login.session_token, PERSONAL)
    cabinet.update_profile(app, login.session_token, PersonalData(surname="Соколова"))
    with app.uow(write=False) as uow:
        c = uow.session.get(Customer, login.customer_id)
        assert (c.surname, c.first_name, c.birth_date, c.search_name) == (
            "Соколова", None, None, "соколова")


@pytest.mark.parametrize("data, label", [
    pytest.param(PersonalData(birth_date=date(2026, 11, 26)), "Дата рождения:", id="future"),
    pytest.param(PersonalData(birth_date=date(2012, 11, 26)), "Дата рождения:",
                 id="one-day-short-of-14"),
    pytest.param(PersonalData(birth_date=date(1890, 1, 1)), "Дата рождения:", id="older-120"),
    pytest.param(PersonalData(surname="Иванов2"), "Фамилия:", id="surname-digit"),
    pytest.param(PersonalData(first_name="1van"), "Имя:", id="first-name-digit"),
    pytest.param(PersonalData(patronymic="Петр0вич"), "Отчество:", id="patronymic-digit"),
    pytest.param(PersonalData(surname="<b>Иванов</b>"), "Фамилия:", id="surname-markup"),
    pytest.param(PersonalData(address="x" * 301), "Адрес:", id="address-too-long"),
])
def test_bad_personal_data_is_refused_naming_the_field_and_changes_nothing(app, data, label):
    login = register_and_activate(app)
    cabinet.update_profile(app, login.session_token, PERSONAL)
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        cabinet.update_profile(app, login.session_token, data)
    assert str(error.value).startswith(label)
    assert snapshot(app) == before


def test_fourteen_years_old_today_is_accepted(app):
    login = register_and_activate(app)
    cabinet.update_profile(app, login.session_token, PersonalData(birth_date=date(2012, 11, 25)))
    with app.uow(write=False) as uow:
        assert uow.session.get(Customer, login.customer_id).birth_date == date(2012, 11, 25)


def test_update_profile_needs_a_live_session(app):
    login = register_and_activate(app)
    cabinet.logout(app, login.session_token)
    before = snapshot(app)
    with pytest.raises(SessionInvalid):
        cabinet.update_profile(app, login.session_token, PERSONAL)
    assert snapshot(app) == before


def test_change_code_word_needs_the_right_password(app):
    login = register_and_activate(app)
    before = snapshot(app)
    with pytest.raises(WrongPassword) as error:
        cabinet.change_code_word(app, login.session_token, "Wrong1pass", "Василёк")
    assert str(error.value).startswith("Пароль:")
    assert snapshot(app) == before


@pytest.mark.parametrize("word", ["", "  ", "ab", "я" * 65])
def test_bad_new_code_word_is_refused_and_changes_nothing(app, word):
    login = register_and_activate(app)
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        cabinet.change_code_word(app, login.session_token, PASSWORD, word)
    assert str(error.value).startswith("Новое кодовое слово:")
    assert snapshot(app) == before


def test_changed_code_word_is_accepted_and_the_old_one_refused(app):
    login = register_and_activate(app)
    cabinet.change_code_word(app, login.session_token, PASSWORD, "Василёк")
    agent = make_staff(app)
    new = contact_center.verify_code_word(app, agent, login.customer_id, "ВАСИЛЕК")
    assert new.correct
    old = contact_center.verify_code_word(app, agent, login.customer_id, CODE_WORD)
    assert (old.correct, old.attempts_left) == (False, 2)


def test_the_cabinet_reads_back_its_own_data(app, clock):
    login = register_and_activate(app, phone="+7 916 000-11-22", email="Lena@Example.ru")
    cabinet.update_profile(app, login.session_token, PersonalData(
        surname="Соколова", first_name="Елена", birth_date=date(1990, 5, 17),
        address="г. Тверь, ул. Советская, 5"))
    shown = cabinet.profile(app, login.session_token)
    assert (shown.phone, shown.email) == ("+7 916 000-11-22", "lena@example.ru")
    assert shown.personal == PersonalData(surname="Соколова", first_name="Елена",
                                          birth_date=date(1990, 5, 17),
                                          address="г. Тверь, ул. Советская, 5")
    assert shown.agreement_version and shown.agreement_accepted_at == shown.registered_at
    cabinet.logout(app, login.session_token)
    with pytest.raises(SessionInvalid):
        cabinet.profile(app, login.session_token)
