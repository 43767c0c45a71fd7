"""Registration of a personal cabinet."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from core.config import USER_AGREEMENT_VERSION
from core.db.models import AuditEntry, Customer, OutboxMessage
from core.notifications.channels import Channel, MessageStatus
from core.customers.rules import CabinetStatus, PersonalData
from core.customers.errors import CaptchaAlreadyUsed, EmailTaken, LoginFailed, PhoneTaken
from core.errors import ValidationError
from core.customers import cabinet
from core.customers.lifecycle import status_of
from tests.factories.customers import register, registration, sms_codes
from tests.factories.dbstate import all_values, count, snapshot

LONG = "x" * 10_000
SECRET_PASSWORD = "Qw7rTy9uIo"
SECRET_WORD = "Незабудка"


def test_registration_creates_a_cabinet_waiting_for_activation(app, clock):
    customer_id = register(app, phone="8 (912) 345-67-89", email="Petr@Example.RU")
    with app.uow(write=False) as uow:
        customer = uow.session.get(Customer, customer_id)
        assert customer.phone == "+79123456789"
        assert customer.email == "petr@example.ru"
        assert customer.activated_at is None
        assert status_of(uow.session, customer) is CabinetStatus.PENDING_ACTIVATION
        assert customer.agreement_version == USER_AGREEMENT_VERSION
        assert customer.agreement_accepted_at == clock.now()
        assert customer.registered_at == clock.now()
        messages = [(m.channel, m.recipient, m.topic, m.status, m.customer_id)
                    for m in uow.session.scalars(select(OutboxMessage))]
        audit_actions = uow.session.scalars(select(AuditEntry.action)).all()
    assert messages == [
        (Channel.SMS, "+79123456789", "activation", MessageStatus.QUEUED, customer_id)]
    assert audit_actions == ["customer.register"]


def test_registration_keeps_optional_personal_data(app):
    personal = PersonalData(surname=" Иванов ", first_name="Пётр", patronymic="Ильич",
                            address="  г. Тверь,   ул. Советская, 1 ")
    customer_id = register(app, personal=personal)
    with app.uow(write=False) as uow:
        customer = uow.session.get(Customer, customer_id)
        assert (customer.surname, customer.first_name, customer.patronymic) == (
            "Иванов", "Пётр", "Ильич")
        assert customer.address == "г. Тверь, ул. Советская, 1"
        assert customer.search_name == "иванов петр ильич"


def test_password_and_code_word_are_kept_only_as_verifiable_hashes(app):
    customer_id = register(app, password=SECRET_PASSWORD, code_word=SECRET_WORD)
    with app.uow(write=False) as uow:
        customer = uow.session.get(Customer, customer_id)
        password_hash, word_hash = customer.password_hash, customer.code_word_hash
    assert password_hash != SECRET_PASSWORD and SECRET_PASSWORD not in password_hash
    assert word_hash != SECRET_WORD and "незабудка" not in word_hash
    assert app.customer_hasher.verify(password_hash, SECRET_PASSWORD)
    assert not app.customer_hasher.verify(password_hash, SECRET_PASSWORD.lower())
    assert app.customer_hasher.verify(word_hash, "незабудка")  # the normalised word


def test_clear_password_and_code_word_appear_in_no_table_and_no_log(app, caplog):
    caplog.set_level(logging.DEBUG)
    customer_id = register(app, email="secret@example.ru", password=SECRET_PASSWORD,
                           code_word=SECRET_WORD)
    code = sms_codes(app)[-1]
    cabinet.logout(app, cabinet.activate(app, customer_id, code).session_token)
    with pytest.raises(LoginFailed):
        cabinet.login(app, "secret@example.ru", SECRET_PASSWORD + "0")
    cabinet.login(app, "secret@example.ru", SECRET_PASSWORD)
    values = all_values(app)
    assert values, "the dump found no rows at all"
    secrets = (SECRET_PASSWORD, SECRET_WORD, SECRET_WORD.lower())
    leaks = [(s, v) for s in secrets for v in values if s.lower() in v.lower()]
    assert leaks == []
    assert all(s.lower() not in caplog.text.lower() for s in secrets)


BAD_INPUTS = [
    pytest.param({"phone": "12345"}, "Телефон:", id="short-phone"),
    pytest.param({"email": "ivan.mail.ru"}, "E-mail:", id="email-without-at"),
    pytest.param({"password": "abc"}, "Пароль:", id="password-abc"),
    pytest.param({"password": "abcde"}, "Пароль:", id="password-too-short"),
    pytest.param({"password": "пароль123"}, "Пароль:", id="password-cyrillic"),
    pytest.param({"password": "abc 123"}, "Пароль:", id="password-space"),
    pytest.param({"password": "qwerty123"}, "Пароль:", id="password-common"),
    pytest.param({"code_word": ""}, "Кодовое слово:", id="empty-code-word"),
    pytest.param({"code_word": "   "}, "Кодовое слово:", id="blank-code-word"),
    pytest.param({"agreement_accepted": False}, "Пользовательское соглашение:",
                 id="agreement-not-accepted"),
    pytest.param({"captcha_answer": "wrong"}, "Код с картинки:", id="wrong-captcha"),
    pytest.param({"captcha_answer": ""}, "Код с картинки:", id="empty-captcha"),
    pytest.param({"phone": LONG}, "Телефон:", id="10000-phone"),
    pytest.param({"email": LONG}, "E-mail:", id="10000-email"),
    pytest.param({"password": LONG}, "Пароль:", id="10000-password"),
    pytest.param({"code_word": LONG}, "Кодовое слово:", id="10000-code-word"),
    pytest.param({"captcha_answer": LONG}, "Код с картинки:", id="10000-captcha"),
    pytest.param({"personal": PersonalData(surname=LONG)}, "Фамилия:", id="10000-surname"),
    pytest.param({"personal": PersonalData(first_name=LONG)}, "Имя:", id="10000-first-name"),
    pytest.param({"personal": PersonalData(patronymic=LONG)}, "Отчество:",
                 id="10000-patronymic"),
    pytest.param({"personal": PersonalData(address=LONG)}, "Адрес:", id="10000-address"),
    pytest.param({"personal": PersonalData(surname="Иванов2")}, "Фамилия:",
                 id="surname-with-digit"),
]


@pytest.mark.parametrize("overrides, label", BAD_INPUTS)
def test_bad_registration_is_refused_naming_the_field_and_changes_nothing(app, overrides, label):
    register(app)  # something already in the database
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        cabinet.register(app, registration(**overrides))
    assert str(error.value).startswith(label)
    assert snapshot(app) == before
    assert count(app, Customer) == 1


def test_refused_agreement_message_mentions_the_user_agreement(app):
    with pytest.raises(ValidationError, match="Пользовательское соглашение"):
        cabinet.register(app, registration(agreement_accepted=False))
    assert count(app, Customer) == 0 and count(app, OutboxMessage) == 0


def test_same_phone_in_another_format_is_taken_and_changes_nothing(app):
    register(app, phone="+7 912 345-67-89", email="first@example.ru")
    before = snapshot(app)
    with pytest.raises(PhoneTaken) as error:
        register(app, phone="8 (912) 345 67 89", email="second@example.ru")
    assert str(error.value).startswith("Телефон:")
    assert snapshot(app) == before


def test_same_email_in_another_case_is_taken_and_changes_nothing(app):
    register(app, email="Anna@Example.ru")
    before = snapshot(app)
    with pytest.raises(EmailTaken) as error:
        register(app, email="ANNA@example.RU")
    assert str(error.value).startswith("E-mail:")
    assert snapshot(app) == before
    assert count(app, Customer) == 1 and count(app, OutboxMessage) == 1


def test_registration_through_the_real_arithmetic_captcha(app, clock):
    import re

    from core.customers.captcha import ArithmeticCaptcha

    app.captcha = ArithmeticCaptcha(b"captcha-key", clock)
    challenge = cabinet.new_captcha(app)
    a, b = map(int, re.findall(r"\d+", challenge.question))
    with pytest.raises(ValidationError, match="^Код с картинки: введён неверно"):
        cabinet.register(app, registration(phone="+79161112233", captcha_token=challenge.token,
                                           captcha_answer=str(a + b + 1)))
    customer_id = cabinet.register(app, registration(
        phone="+79161112233", captcha_token=challenge.token, captcha_answer=str(a + b)))
    assert customer_id > 0


def test_a_solved_captcha_registers_one_cabinet_only(app, clock):
    import re

    from core.customers.captcha import ArithmeticCaptcha

    app.captcha = ArithmeticCaptcha(b"captcha-key", clock)
    challenge = cabinet.new_captcha(app)
    answer = str(sum(map(int, re.findall(r"\d+", challenge.question))))
    register(app, captcha_token=challenge.token, captcha_answer=answer)
    assert len(sms_codes(app)) == 1
    before = snapshot(app)
    clock.advance(minutes=1)
    with pytest.raises(CaptchaAlreadyUsed) as error:
        register(app, captcha_token=challenge.token, captcha_answer=answer)
    assert str(error.value) == ("Код с картинки: этот пример уже решён для другой регистрации, "
                                "решите новый")
    assert error.value.field == "captcha"
    assert snapshot(app) == before and len(sms_codes(app)) == 1
    fresh = cabinet.new_captcha(app)
    register(app, captcha_token=fresh.token,
             captcha_answer=str(sum(map(int, re.findall(r"\d+", fresh.question)))))
    assert count(app, Customer) == 2


def test_a_captcha_that_failed_registration_for_another_reason_is_not_spent(app):
    register(app, email="taken@example.ru")
    with pytest.raises(EmailTaken):
        register(app, email="taken@example.ru", captcha_token="one")
    register(app, email="free@example.ru", captcha_token="one")
    assert count(app, Customer) == 2
