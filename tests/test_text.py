"""Control characters in typed text: one rule (``core.text``), used by every free-text field.

Before it, U+0000 reached PostgreSQL, which refuses it in text with a raw ``psycopg.DataError``
(SQLite stored it); each case below runs on both databases and must be refused naming the field,
changing nothing.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from core.actors import StaffRole
from core.app import App
from core.billing import accounts
from core.customers import cabinet, contact_center
from core.customers.rules import PersonalData
from core.errors import ValidationError
from core.notifications import templates
from core.paging import PageRequest
from core.payments import flow
from core.staff import members
from core.text import refuse_control_characters
from tests.factories import customers
from tests.factories.billing import add_accounts, bind, make_provider
from tests.factories.dbstate import snapshot
from tests.factories.payment_flow import new_key

NUL = "\x00"


@pytest.mark.parametrize("text", ["Квартира", "две\nстроки", "с\tтабуляцией", "\r\n", "", None,
                                  "emoji 👍 и ё"])
def test_whitespace_and_ordinary_text_pass(text):
    assert refuse_control_characters(text, "Поле") == (text or "")


@pytest.mark.parametrize("char", [NUL, "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f",
                                  "\x85", "\x9f", "\ud800"])
def test_every_other_control_character_is_refused_naming_the_field(char):
    with pytest.raises(ValidationError) as caught:
        refuse_control_characters(f"Кварти{char}ра", "Название счёта", "name")
    assert (str(caught.value), caught.value.field) == (
        "Название счёта: уберите управляющие символы", "name")


# Each case: (prepare the database, returning the refused call; the expected message).
Case = Callable[[App], Callable[[], object]]


def _bind_name(app: App) -> Callable[[], object]:
    login = customers.register_and_activate(app)
    provider_id = make_provider(app)
    add_accounts(app, provider_id, ["1234567890"])
    return lambda: accounts.bind_account(app, login.session_token, provider_id, "1234567890",
                                         f"Дача{NUL}")


def _bind_number(app: App) -> Callable[[], object]:
    login = customers.register_and_activate(app)
    provider_id = make_provider(app)
    add_accounts(app, provider_id, ["1234567890"])
    return lambda: accounts.bind_account(app, login.session_token, provider_id,
                                         f"12345{NUL}67890", "Дача")


def _rename(app: App) -> Callable[[], object]:
    login = customers.register_and_activate(app)
    provider_id = make_provider(app)
    account_id = add_accounts(app, provider_id, ["1234567890"])["1234567890"]
    binding_id = bind(app, login.customer_id, account_id)
    return lambda: accounts.rename_binding(app, login.session_token, binding_id, f"Дом{NUL}")


def _profile_surname(app: App) -> Callable[[], object]:
    login = customers.register_and_activate(app)
    return lambda: cabinet.update_profile(app, login.session_token,
                                          PersonalData(surname=f"Иванов{NUL}"))


def _profile_address(app: App) -> Callable[[], object]:
    login = customers.register_and_activate(app)
    return lambda: cabinet.update_profile(app, login.session_token,
                                          PersonalData(address=f"ул. Ленина{NUL}, 5"))


def _self_block(app: App) -> Callable[[], object]:
    login = customers.register_and_activate(app)
    return lambda: cabinet.block_own_cabinet(app, login.session_token, f"Уезжаю{NUL}")


def _code_word(app: App) -> Callable[[], object]:
    login = customers.register_and_activate(app)
    return lambda: cabinet.change_code_word(app, login.session_token, customers.PASSWORD,
                                            f"Ландыш{NUL}")


def _customer_login(app: App) -> Callable[[], object]:
    customers.register_and_activate(app, email="nul@example.ru")
    return lambda: cabinet.login(app, f"nul{NUL}@example.ru", customers.PASSWORD)


def _register_email(app: App) -> Callable[[], object]:
    return lambda: cabinet.register(app, customers.registration(email=f"a{NUL}@example.ru"))


def _search(app: App) -> Callable[[], object]:
    agent = customers.make_staff(app)
    return lambda: contact_center.search_customers(app, agent, f"Иван{NUL}", PageRequest(1, 10))


def _note(app: App) -> Callable[[], object]:
    login = customers.register_and_activate(app)
    agent = customers.make_staff(app)
    return lambda: contact_center.add_note(app, agent, login.customer_id, f"Звонил{NUL}")


def _staff_block(app: App) -> Callable[[], object]:
    login = customers.register_and_activate(app)
    agent = customers.make_staff(app)
    return lambda: contact_center.block(app, agent, login.customer_id, f"Просьба{NUL}")


def _staff_name(app: App) -> Callable[[], object]:
    admin = customers.make_staff(app, StaffRole.ADMIN)
    return lambda: members.add_staff(app, admin, login="petrov", name=f"Петров{NUL}",
                                     email="petrov@office.example.ru", role=StaffRole.AGENT,
                                     password=customers.STAFF_PASSWORD)


def _staff_login(app: App) -> Callable[[], object]:
    customers.make_staff(app, login="sidorov")
    return lambda: members.login(app, f"sidorov{NUL}", customers.STAFF_PASSWORD, "10.0.0.1")


def _template(app: App) -> Callable[[], object]:
    admin = customers.make_staff(app, StaffRole.ADMIN)
    return lambda: templates.save_template(app, admin, "news", "email", "Новости",
                                           f"{{text}}{NUL}")


def _guest_payment_email(app: App) -> Callable[[], object]:
    provider_id = make_provider(app)
    add_accounts(app, provider_id, ["1234567890"])
    return lambda: flow.start_account_payment(
        app, provider_id=provider_id, account_number="1234567890", idempotency_key=new_key(),
        amount_text="100", receipt_email=f"guest{NUL}@example.ru")


CASES: list[tuple[Case, str]] = [
    (_bind_name, "Название счёта"),
    (_bind_number, "Лицевой счёт"),
    (_rename, "Название счёта"),
    (_profile_surname, "Фамилия"),
    (_profile_address, "Адрес"),
    (_self_block, "Причина блокировки"),
    (_code_word, "Новое кодовое слово"),
    (_customer_login, "Логин"),
    (_register_email, "E-mail"),
    (_search, "Поиск"),
    (_note, "Заметка"),
    (_staff_block, "Причина блокировки"),
    (_staff_name, "ФИО"),
    (_staff_login, "Логин"),
    (_template, "Текст шаблона"),
    (_guest_payment_email, "E-mail"),
]


@pytest.mark.parametrize(("prepare", "label"), CASES, ids=[c.__name__.strip("_") for c, _ in CASES])
def test_a_nul_in_free_text_is_refused_naming_the_field_and_changes_nothing(app, prepare, label):
    refused = prepare(app)
    before = snapshot(app)
    with pytest.raises(ValidationError) as caught:
        refused()
    assert str(caught.value) == f"{label}: уберите управляющие символы"
    assert snapshot(app) == before
