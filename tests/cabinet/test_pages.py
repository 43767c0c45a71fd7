"""The logged-in pages of the cabinet and «Произвольный платёж»: real data on screen, actions
through the facade, and every refusal naming its field with nothing changed."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core import customer_api as api
from core.db.models import AccountBinding, InvoiceMark
from tests.cabinet.conftest import cabinet
from tests.dashboard.helpers import button, shown, texts
from tests.factories import customers
from tests.factories.billing import add_accounts, make_invoice, make_provider
from core.payments import receipts
from tests.factories import payment_flow
from tests.factories.payments import make_card

NUMBER = "1234567890"


def _with_invoices(app, token: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """A provider, the customer's bound account with two months of invoices."""
    provider_id = make_provider(app, name="ГУП «Водоканал»")
    account_id = add_accounts(app, provider_id, [NUMBER])[NUMBER]
    old = make_invoice(app, account_id, date(2026, 10, 1), 120_000)
    current = make_invoice(app, account_id, date(2026, 11, 1), 150_000)
    api.bind_account(app, token, provider_id, NUMBER, "Квартира на Невском")
    return provider_id, old, current


def _errors(at) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(shown(e.value) for e in at.error)


def _frames(at) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(frame.value.to_string() for frame in at.dataframe)


def test_invoices_to_pay_show_the_breakdown_and_can_be_marked_paid(cab_app, logged_in):
    at, _, own = logged_in()
    _, old, current = _with_invoices(cab_app, own.session_token)
    at.run()
    said = texts(at)
    assert "ГУП «Водоканал»" in said and "Квартира на Невском" in said
    assert "1\u00a0500,00\u00a0₽" in said and "ноябрь 2026" in said.lower()
    assert "Холодное водоснабжение" in _frames(at)
    at = button(at, "Отметить как оплаченный").click().run()
    assert "отмечен как оплаченный" in texts(at)
    with cab_app.uow(write=False) as uow:
        assert uow.session.scalar(select(InvoiceMark.invoice_id)) == current
    assert "Отметить как оплаченный" not in [b.label for b in at.button]
    assert "Счетов к оплате нет" in texts(at)


def test_the_tab_all_lists_every_month_and_filters_by_account(cab_app, logged_in):
    at, _, own = logged_in()
    _with_invoices(cab_app, own.session_token)
    at.run()
    frame = at.dataframe[-1].value
    assert sorted(frame["Период"].str.lower()) == ["ноябрь 2026", "октябрь 2026"]
    assert "Счетов: 2" in texts(at)


def test_pay_opens_the_first_step_with_the_breakdown_and_the_total(cab_app, logged_in):
    at, _, own = logged_in()
    _with_invoices(cab_app, own.session_token)
    at.run()
    at = button(at, "Оплатить").click().run()
    assert not at.exception, at.exception
    said = texts(at)
    assert "Детализация начислений" in said and "Итого к списанию: 1\u00a0500,00\u00a0₽" in said
    assert "Холодное водоснабжение" in _frames(at)


def test_another_cabinets_invoice_is_not_shown_whatever_the_state_says(cab_app, logged_in,
                                                                      customer):
    _, other = customer()
    _, _, strangers = _with_invoices(cab_app, other.session_token)
    at, _, _ = logged_in()
    at.session_state["cab_pay_invoice"] = strangers  # as if a page had been told this id
    at.switch_page("views/payment.py").run()
    assert not at.exception
    assert "не найден" in texts(at).lower()
    assert "1\u00a0500,00" not in texts(at) and not at.dataframe


def test_adding_an_account_checks_the_number_by_the_providers_rule(cab_app, logged_in):
    at, _, own = logged_in()
    provider_id = make_provider(app=cab_app, name="ГУП «Водоканал»", hint="10 цифр с квитанции")
    add_accounts(cab_app, provider_id, [NUMBER])
    at.switch_page("views/settings.py").run()
    at.text_input(key="cab_bind_number").input("12")
    at.text_input(key="cab_bind_title").input("Дача")
    at = button(at, "Добавить").click().run()
    assert _errors(at).startswith("Лицевой счёт: 10 цифр"), _errors(at)
    with cab_app.uow(write=False) as uow:
        assert uow.session.scalar(select(AccountBinding.id)) is None
    at.text_input(key="cab_bind_number").input(NUMBER)
    at = button(at, "Добавить").click().run()
    assert "Счёт добавлен в личный кабинет" in texts(at)
    assert [b.name for b in api.list_bindings(cab_app, own.session_token)] == ["Дача"]


def test_personal_data_refused_naming_the_field_and_unchanged(cab_app, logged_in):
    at, _, own = logged_in()
    at.switch_page("views/settings.py").run()
    at.text_input(key="cab_set_surname").input("R2D2")
    at = button(at, "Сохранить").click().run()
    assert _errors(at).startswith("Фамилия"), _errors(at)
    assert api.profile(cab_app, own.session_token).personal.surname is None
    at.text_input(key="cab_set_surname").input("Петрова")
    at = button(at, "Сохранить").click().run()
    assert "Личные данные сохранены" in texts(at)
    assert api.profile(cab_app, own.session_token).personal.surname == "Петрова"


def test_password_change_refusals_then_the_new_password_keeps_this_tab_in(cab_app, logged_in):
    at, phone, own = logged_in()
    at.switch_page("views/settings.py").run()
    for old, new, repeat, message in [
            ("Wrong0000", "Nw7pass42x", "Nw7pass42x", "Текущий пароль: неверный пароль"),
            (customers.PASSWORD, "Nw7pass42x", "Other0000", "пароли не совпадают"),
            (customers.PASSWORD, "abc", "abc", "Новый пароль: не короче 6 символов")]:
        at.text_input(key="cab_set_old_password").input(old)
        at.text_input(key="cab_set_new_password").input(new)
        at.text_input(key="cab_set_repeat_password").input(repeat)
        at = button(at, "Изменить пароль").click().run()
        assert message in _errors(at), _errors(at)
    assert api.login(cab_app, phone, customers.PASSWORD)  # unchanged
    at.text_input(key="cab_set_old_password").input(customers.PASSWORD)
    at.text_input(key="cab_set_new_password").input("Nw7pass42x")
    at.text_input(key="cab_set_repeat_password").input("Nw7pass42x")
    at = button(at, "Изменить пароль").click().run()
    assert "Пароль изменён" in texts(at)
    at.run()
    assert [b.label for b in at.button if b.label == "Выйти"] == ["Выйти"]
    assert api.login(cab_app, phone, "Nw7pass42x")


def test_history_says_when_there_are_no_payments(cab_app, logged_in):
    at, _, _ = logged_in()
    at.switch_page("views/history.py").run()
    assert not at.exception
    assert "Платежей за выбранный период нет" in texts(at)


def test_guest_payment_offers_the_last_invoice_or_a_free_amount(cab_app):
    provider_id = make_provider(cab_app, name="ГУП «Водоканал»")
    account_id = add_accounts(cab_app, provider_id, [NUMBER])[NUMBER]
    make_invoice(cab_app, account_id, date(2026, 11, 1), 150_000)
    at = cabinet().switch_page("views/guest_payment.py").run()
    at.text_input(key="cab_guest_number").input("12")
    at = button(at, "Далее").click().run()
    assert _errors(at).startswith("Лицевой счёт: 10 цифр") and not at.radio
    at.text_input(key="cab_guest_number").input(NUMBER)
    at = button(at, "Далее").click().run()
    assert at.radio[0].options == ["Счёт на сумму 1\u00a0500,00\u00a0руб.", "Произвольная сумма"]
    assert "Холодное водоснабжение" in _frames(at)
    at.radio[0].set_value("amount").run()
    at.text_input(key="cab_guest_amount").input("абв").run()
    assert _errors(at).startswith("Сумма"), _errors(at)


def test_a_typed_account_name_shows_as_typed_never_as_a_picture_or_link(cab_app, logged_in):
    at, _, own = logged_in()
    provider_id = make_provider(cab_app, name="ГУП «Водоканал»")
    account_id = add_accounts(cab_app, provider_id, [NUMBER])[NUMBER]
    make_invoice(cab_app, account_id, date(2026, 11, 1), 150_000)
    typed = "![x](https://tracker.example/p.png) **дача**"
    api.bind_account(cab_app, own.session_token, provider_id, NUMBER, typed)
    for page in ("views/invoices.py", "views/settings.py"):
        at.switch_page(page).run()
        sources = [str(m.value) for m in at.markdown if "tracker" in str(m.value)]
        assert sources, page
        assert all("](" not in s and "**дача" not in s for s in sources)
        assert any(typed in shown(s) for s in sources)


def test_saved_cards_can_be_made_default_and_removed(cab_app, logged_in):
    at, _, own = logged_in()
    first = make_card(cab_app, own.customer_id, last4="1111", is_default=True)
    second = make_card(cab_app, own.customer_id, last4="2222", brand="mastercard")
    at.switch_page("views/settings.py").run()
    said = texts(at)
    assert "411111\\*\\*\\*\\*\\*\\*2222" in "\n".join(str(m.value) for m in at.markdown) \
        or "411111******2222" in said
    at = at.button(key=f"cab_card_def_{second}").click().run()
    assert "Карта стала основной" in texts(at)
    cards = {c.id: c for c in api.list_cards(cab_app, own.session_token)}
    assert cards[second].is_default and not cards[first].is_default
    at = at.button(key=f"cab_card_remove_{first}").click().run()
    assert "Карта удалена" in texts(at)
    assert [c.id for c in api.list_cards(cab_app, own.session_token)] == [second]


def test_a_subscription_is_switched_off_and_stays_off(cab_app, logged_in):
    at, _, own = logged_in()
    at.switch_page("views/settings.py").run()
    assert api.subscriptions(cab_app, own.session_token).is_enabled("new_invoice", "sms")
    at.checkbox(key="cab_sub_new_invoice_sms").uncheck().run()
    assert not at.exception
    assert not api.subscriptions(cab_app, own.session_token).is_enabled("new_invoice", "sms")
    assert at.checkbox(key="cab_sub_new_invoice_sms").value is False


def test_the_history_lists_a_payment_and_saves_its_receipt(cab_app):
    p = payment_flow.payer(cab_app)
    view = payment_flow.pay_invoice(cab_app, p)
    at = cabinet()
    at.session_state["cab_token"] = p.token  # this payer's own session, as after the login
    at.run().switch_page("views/history.py").run()
    assert "Платежей: 1" in texts(at)
    at.selectbox(key="cab_hist_receipt").set_value(view.id).run()
    receipts.fiscalise_due(cab_app)  # what the worker does (if the payment left it to it)
    at.run()
    assert not at.error, _errors(at)
    [download] = at.get("download_button")
    assert download.proto.label == "Сохранить квитанцию"


def test_query_parameters_open_nothing_of_another_cabinet(cab_app, logged_in, customer):
    _, other = customer()
    _, _, strangers = _with_invoices(cab_app, other.session_token)
    at, _, _ = logged_in()
    for name in ("invoice_id", "invoice", "payment_id", "id"):
        at.query_params[name] = str(strangers)
    for page in ("views/invoices.py", "views/payment.py", "views/history.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert "ГУП «Водоканал»" not in texts(at) + "\n".join(
            frame.value.to_string() for frame in at.dataframe)


def test_a_guest_pays_the_last_invoice_with_a_card_and_the_password_from_the_demo_panel(cab_app):
    from core.actors import StaffRole
    from core.demo.guard import DEMO_STAFF
    from core.notifications import outbox
    from core.staff import members

    login, name, role, password = DEMO_STAFF[0]
    members.add_staff(cab_app, None, login=login, name=name, email="d@demo.example.ru",
                      role=StaffRole(role), password=password)
    provider_id = make_provider(cab_app, name="ГУП «Водоканал»")
    account_id = add_accounts(cab_app, provider_id, [NUMBER])[NUMBER]
    invoice_id = make_invoice(cab_app, account_id, date(2026, 11, 1), 150_000)
    at = cabinet().switch_page("views/guest_payment.py").run()
    at.text_input(key="cab_guest_number").input(NUMBER)
    at = button(at, "Далее").click().run()
    for key, value in (("cab_guest_email", "нет"), ("cab_guest_card_number", "4111 1111 1111 1111"),
                       ("cab_guest_expiry", "12/30"), ("cab_guest_holder", "IVAN PETROV"),
                       ("cab_guest_cvv", "123")):
        at.text_input(key=key).input(value)
    at = button(at, "Оплатить").click().run()
    assert _errors(at).startswith("E-mail"), _errors(at)
    at.text_input(key="cab_guest_email").input("guest.payer@example.ru")
    at = button(at, "Оплатить").click().run()
    assert not at.exception, at.exception
    assert "Одноразовый пароль" in [str(h.value) for h in at.subheader]
    outbox.send_pending(cab_app)
    at = button(at, "Обновить").click().run()
    import re

    shown_text = "\n".join(str(t.value) for t in at.text)
    code = re.search(r": (\d{6})\.", shown_text)
    assert code, shown_text
    at.text_input(key="cab_guest_otp_code").input(code[1])
    at = button(at, "Подтвердить").click().run()
    assert "Платёж выполнен" in texts(at), texts(at)
    with cab_app.uow(write=False) as uow:
        from core.db.models import Invoice

        assert uow.session.get(Invoice, invoice_id).paid_amount == 150_000


def test_a_card_is_added_in_settings_without_paying_and_becomes_the_default(cab_app, logged_in):
    import re

    from core.db.models import OutboxMessage

    at, _, own = logged_in()
    at.switch_page("views/settings.py").run()
    for key, value in (("cab_card_number", "4111 1111 1111 1112"), ("cab_card_expiry", "12/30"),
                       ("cab_card_holder", "IVAN PETROV"), ("cab_card_cvv", "123")):
        at.text_input(key=key).input(value)
    at = button(at, "Добавить карту").click().run()
    assert _errors(at).startswith("Номер карты"), _errors(at)
    at.text_input(key="cab_card_number").input("4111 1111 1111 1111")
    at = button(at, "Добавить карту").click().run()
    assert not at.exception, at.exception
    assert api.list_cards(cab_app, own.session_token) == []  # not before the password
    with cab_app.uow(write=False) as uow:
        body = uow.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.topic == "card_binding_otp").order_by(OutboxMessage.id.desc()))
    code = re.search(r": (\d{6})\.", body or "")
    assert code, body
    at.text_input(key="cab_card_otp_code").input(code[1])
    at = button(at, "Подтвердить").click().run()
    assert "добавлена" in texts(at), texts(at) + _errors(at)
    [card] = api.list_cards(cab_app, own.session_token)
    assert card.is_default and card.masked_pan.endswith("1111")
    assert _payments_count(cab_app) == 0


def _payments_count(app) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func

    from core.db.models import Payment

    with app.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Payment)) or 0
