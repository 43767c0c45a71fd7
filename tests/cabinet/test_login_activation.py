"""«Вход» for a cabinet registered but never activated (the page with the SMS code was lost):
the right password leads to the activation step with a fresh code, read here from the demo's
panel as a visitor would, and the right code logs the customer in; a wrong code is refused in
Russian and the cabinet stays waiting."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from core.db.models import ActivationCode, Customer
from tests.cabinet.conftest import cabinet, log_in
from tests.cabinet.test_demo_panel import PANEL, _demo_data, _shown_texts
from tests.dashboard.helpers import button, texts
from tests.factories import customers
from tests.factories.dbstate import other_code

PHONE, EMAIL = "+7 921 555-03-04", "lost.tab@example.ru"
CODE = r"Код активации личного кабинета: (\d{4})"


def _registered_earlier(app) -> int:  # type: ignore[no-untyped-def]
    """Registered, the code's SMS sent, and the page lost: the code is 5 minutes old."""
    customer_id = customers.register(app, phone=PHONE, email=EMAIL)
    customers.sms_codes(app)
    with app.uow() as uow:
        for row in uow.session.scalars(select(ActivationCode)
                                       .where(ActivationCode.customer_id == customer_id)):
            row.created_at -= timedelta(minutes=5)
        uow.commit()
    return customer_id


def _activated_at(app, customer_id):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(Customer.activated_at)
                                  .where(Customer.id == customer_id))


def _logged_in(at) -> bool:  # type: ignore[no-untyped-def]
    return [b.label for b in at.button if b.label == "Выйти"] == ["Выйти"]


def test_login_of_a_cabinet_never_activated_goes_to_the_code_and_then_in(cab_app):
    _demo_data(cab_app)
    customer_id = _registered_earlier(cab_app)
    at = log_in(cabinet(), PHONE)
    assert not at.exception, at.exception
    assert "Личный кабинет ещё не активирован" in texts(at)
    assert "Новый код отправлен в SMS" in texts(at)
    assert "Код из SMS" in [t.label for t in at.text_input] and not _logged_in(at)
    assert PANEL in texts(at)  # the demo's panel of the person waiting for the code
    fresh = customers.sms_codes(cab_app)[-1]  # the worker beside the demo sends the SMS
    at = button(at, "Обновить").click().run()
    shown = re.findall(CODE, _shown_texts(at))
    # The registration's code and the fresh one (sent within the same second: either order).
    assert len(shown) == 2 and fresh in shown, _shown_texts(at)
    at.text_input(key="cab_reg_code").input(fresh)
    at = button(at, "Активировать").click().run()
    assert not at.exception, at.exception
    assert "Счета к оплате" in texts(at) and _logged_in(at)
    assert _activated_at(cab_app, customer_id) is not None


def test_a_wrong_code_after_login_is_refused_and_the_cabinet_stays_waiting(cab_app):
    customer_id = _registered_earlier(cab_app)
    at = log_in(cabinet(), PHONE)
    right = customers.sms_codes(cab_app)[-1]
    at.text_input(key="cab_reg_code").input(other_code(right))
    at = button(at, "Активировать").click().run()
    assert not at.exception, at.exception
    assert "Код активации: неверный код, осталось попыток" in texts(at)
    assert not _logged_in(at) and _activated_at(cab_app, customer_id) is None
    assert "Код из SMS" in [t.label for t in at.text_input]  # another try on the same step


def test_a_wrong_password_sends_nothing_and_the_right_one_then_leads_to_the_code(cab_app):
    _registered_earlier(cab_app)
    at = log_in(cabinet(), PHONE, "Wrong1234")
    assert "Неверный логин или пароль" in texts(at)
    assert "Код из SMS" not in [t.label for t in at.text_input]
    assert len(customers.sms_codes(cab_app)) == 1
    at = log_in(at, PHONE)
    assert "Код из SMS" in [t.label for t in at.text_input]
    assert len(customers.sms_codes(cab_app)) == 2


def test_back_to_the_login_form_from_the_code_step(cab_app):
    _registered_earlier(cab_app)
    at = button(log_in(cabinet(), PHONE), "Вернуться ко входу").click().run()
    assert "Войти" in [b.label for b in at.button]
    assert "Код из SMS" not in [t.label for t in at.text_input]
