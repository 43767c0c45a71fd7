"""«Регистрация» in the cabinet, as the manual has it: the form, the agreement with its version
recorded, the captcha, then the 4-digit SMS code, then the customer is in. Every refusal names
its field in Russian and creates nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from core.config import USER_AGREEMENT_VERSION
from core.db.models import Customer
from tests.cabinet.conftest import cabinet, solve_captcha
from tests.dashboard.helpers import button, shown, texts
from tests.factories import customers

PHONE, EMAIL = "+7 921 555-01-02", "new.payer@example.ru"


def _fill(at, **overrides):  # type: ignore[no-untyped-def]
    values = {"cab_reg_surname": "Иванова", "cab_reg_first_name": "Мария",
              "cab_reg_patronymic": "Петровна", "cab_reg_phone": PHONE, "cab_reg_email": EMAIL,
              "cab_reg_password": customers.PASSWORD, "cab_reg_repeat": customers.PASSWORD,
              "cab_reg_code_word": "Ромашка", "cab_reg_captcha": solve_captcha(at)}
    values.update({f"cab_reg_{k}": v for k, v in overrides.items() if k != "agreement"})
    for key, value in values.items():
        at.text_input(key=key).input(value)
    at.checkbox(key="cab_reg_agreement").check() if overrides.get("agreement", True) \
        else at.checkbox(key="cab_reg_agreement").uncheck()
    return button(at, "Зарегистрироваться").click().run()


def _register_page():  # type: ignore[no-untyped-def]
    return cabinet().switch_page("views/register.py").run()


def _customers(app) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Customer)) or 0


def test_the_form_shows_every_field_the_rule_the_agreement_and_the_captcha(cab_app):
    at = _register_page()
    labels = [t.label for t in at.text_input]
    assert labels == ["Фамилия", "Имя", "Отчество", "Мобильный телефон", "E-mail", "Пароль",
                      "Повторите пароль", "Кодовое слово", "Код с картинки"]
    said = texts(at)
    assert "не менее 6 цифр и может включать латинские буквы и цифры" in said
    assert "необходимо для обращения в Контакт-Центр" in said
    assert f"Пользовательское соглашение (редакция {USER_AGREEMENT_VERSION})" in \
        [e.label for e in at.expander]
    assert "Сколько будет" in said


def test_register_then_the_sms_code_logs_the_customer_in(cab_app):
    at = _fill(_register_page())
    assert not at.exception, at.exception
    assert "отправлено SMS с кодом активации" in texts(at)
    with cab_app.uow(write=False) as uow:
        row = uow.session.scalar(select(Customer).where(Customer.email == EMAIL))
        assert row is not None and row.activated_at is None
        assert row.agreement_version == USER_AGREEMENT_VERSION and row.surname == "Иванова"
    at.text_input(key="cab_reg_code").input(customers.sms_codes(cab_app)[-1])
    at = button(at, "Активировать").click().run()
    assert not at.exception, at.exception
    assert "Счета к оплате" in texts(at)
    assert [b.label for b in at.button if b.label == "Выйти"] == ["Выйти"]
    with cab_app.uow(write=False) as uow:
        assert uow.session.scalar(select(Customer.activated_at)
                                  .where(Customer.email == EMAIL)) is not None


def test_a_wrong_sms_code_is_refused_and_the_code_can_be_sent_again(cab_app):
    at = _fill(_register_page())
    customers.sms_codes(cab_app)
    at.text_input(key="cab_reg_code").input("12")
    at = button(at, "Активировать").click().run()
    assert "Код активации: введите 4 цифры из SMS" in texts(at)
    right = customers.sms_codes(cab_app)[-1]
    at.text_input(key="cab_reg_code").input("0000" if right != "0000" else "1111")
    at = button(at, "Активировать").click().run()
    assert "Код активации: неверный код, осталось попыток" in texts(at)
    at = button(at, "Отправить код повторно").click().run()
    said = texts(at)
    assert "Новый код отправлен" in said or "новый код можно запросить через" in said
    with cab_app.uow(write=False) as uow:
        assert uow.session.scalar(select(Customer.activated_at)
                                  .where(Customer.email == EMAIL)) is None
    assert [b.label for b in at.button if b.label == "Выйти"] == []


def test_refusals_name_the_field_and_create_nothing(cab_app):
    cases = [
        ({"phone": "123"}, "Телефон: введите мобильный номер в формате +7 9XX XXX-XX-XX"),
        ({"email": "нет-адреса"}, "E-mail: "),
        ({"password": "abc", "repeat": "abc"}, "Пароль: не короче 6 символов"),
        ({"repeat": "Other9999"}, "Повторите пароль: пароли не совпадают"),
        ({"code_word": ""}, "Кодовое слово: обязательное поле"),
        ({"agreement": False}, "Пользовательское соглашение: необходимо ознакомиться"),
        ({"captcha": "999"}, "Код с картинки: введён неверно"),
    ]
    for overrides, message in cases:
        at = _fill(_register_page(), **overrides)
        assert not at.exception, at.exception
        errors = "\n".join(shown(e.value) for e in at.error)
        assert errors.startswith(message), (overrides, errors)
        assert "Код из SMS" not in [t.label for t in at.text_input]
    assert _customers(cab_app) == 0


def test_a_wrong_captcha_answer_gets_a_new_question(cab_app):
    at = _register_page()
    first = at.session_state["cab_captcha"]
    at = _fill(at, captcha="999")
    assert "Код с картинки: введён неверно" in texts(at)
    assert at.session_state["cab_captcha"] != first  # the refused question is not asked again
    assert at.session_state["cab_captcha"].question in texts(at)
    at = _fill(at)
    assert "отправлено SMS с кодом активации" in texts(at)


def test_a_taken_phone_is_refused(cab_app, customer):
    phone, _ = customer()
    at = _fill(_register_page(), phone=phone)
    assert "Телефон: этот номер уже зарегистрирован" in texts(at)
    assert _customers(cab_app) == 1
