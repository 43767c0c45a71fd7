from core.customers import cabinet
from tests.factories.customers import PASSWORD, register_and_activate


def test_registered_customer_activates_and_logs_in_by_phone_and_email(app):
    login = register_and_activate(app, phone="+7 999 111-22-33", email="Ivan@Mail.ru")
    assert cabinet.current_customer_id(app, login.session_token) == login.customer_id
    by_phone = cabinet.login(app, "8 (999) 111 22 33", PASSWORD)
    by_email = cabinet.login(app, "IVAN@mail.ru", PASSWORD)
    assert by_phone.customer_id == by_email.customer_id == login.customer_id
