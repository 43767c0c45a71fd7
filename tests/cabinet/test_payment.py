"""«Оплата» in the cabinet, step by step as the manual has it: the breakdown, the card (new,
then saved with only its CVV), the details once more, «Оплатить», the one-time password, the
result with its receipt. Refusals name the field and charge nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from core import customer_api as api
from core.db.models import Payment
from tests.cabinet.test_pages import _errors, _with_invoices
from tests.dashboard.helpers import button, texts
from tests.factories.payment_flow import DECLINED_CARD, OK_CARD, last_otp


def _step(at) -> str:  # type: ignore[no-untyped-def]
    """The step's heading (the stepper above names every step)."""
    return " ".join(str(h.value) for h in at.subheader)


def _payments(app) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Payment)) or 0


def _to_card_step(at):  # type: ignore[no-untyped-def]
    at = button(at, "Оплатить").click().run()
    assert _step(at) == "Детализация начислений"
    return button(at, "Далее").click().run()


def _new_card(at, number: str = OK_CARD, expiry: str = "12/30", cvv: str = "123",
              save: bool = False):  # type: ignore[no-untyped-def]
    at.text_input(key="cab_pay_number").input(number)
    at.text_input(key="cab_pay_expiry").input(expiry)
    at.text_input(key="cab_pay_holder").input("IVAN PETROV")
    at.text_input(key="cab_pay_new_cvv").input(cvv)
    if save:
        at.checkbox(key="cab_pay_save_choice").check()
    return button(at, "Далее").click().run()


def test_pay_with_a_new_card_then_the_next_invoice_with_the_saved_card_and_cvv(cab_app,
                                                                             logged_in):
    at, _, own = logged_in()
    _, old, current = _with_invoices(cab_app, own.session_token)
    at.run()
    at = _new_card(_to_card_step(at), save=True)
    assert not at.exception, at.exception
    said = texts(at)
    assert _step(at) == "Проверьте реквизиты" and "411111" in said.replace("\\", "")
    assert _payments(cab_app) == 0  # nothing sent before «Оплатить»
    at = button(at, "Оплатить").click().run()
    assert _step(at) == "Одноразовый пароль"
    assert "cab_pay_card" not in at.session_state  # the card went to the bank and is gone
    payment_id = at.session_state["cab_pay_payment"]
    at.text_input(key="cab_pay_otp_code").input("000000" if last_otp(cab_app, payment_id)
                                                 != "000000" else "111111")
    at = button(at, "Подтвердить").click().run()
    assert "осталось попыток" in _errors(at).lower() or "неверн" in _errors(at).lower()
    at.text_input(key="cab_pay_otp_code").input(last_otp(cab_app, payment_id))
    at = button(at, "Подтвердить").click().run()
    assert not at.exception, at.exception
    assert "Платёж выполнен" in texts(at)
    assert [b.proto.label for b in at.get("download_button")] == ["Сохранить квитанцию"]
    assert api.payment_status(cab_app, own.session_token, payment_id).status \
        is api.PaymentStatus.SUCCEEDED
    [card] = api.list_cards(cab_app, own.session_token)

    # The paid invoice is no longer to pay; no invoice, no payment step.
    at = button(at, "К счетам").click().run()
    assert "Счетов к оплате нет" in texts(at)
    assert _payments(cab_app) == 1


def test_a_saved_card_pays_with_only_its_cvv(cab_app, logged_in):
    at, _, own = logged_in()
    _with_invoices(cab_app, own.session_token)
    from tests.factories.payments import make_card

    make_card(cab_app, own.customer_id, is_default=True)
    at.run()
    at = _to_card_step(at)
    assert at.radio(key="cab_pay_method_choice").value != "new"
    assert "cab_pay_number" not in [t.key for t in at.text_input]
    at.text_input(key="cab_pay_saved_cvv").input("12")
    at = button(at, "Далее").click().run()
    assert _errors(at).startswith("CVV")
    at.text_input(key="cab_pay_saved_cvv").input("123")
    at = button(at, "Далее").click().run()
    assert _step(at) == "Проверьте реквизиты"


def test_a_mistyped_card_is_refused_on_its_step_and_nothing_is_charged(cab_app, logged_in):
    at, _, own = logged_in()
    _with_invoices(cab_app, own.session_token)
    at.run()
    at = _to_card_step(at)
    for number, expiry, cvv, message in [
            ("4111 1111 1111 1112", "12/30", "123", "Номер карты"),
            (OK_CARD, "13/30", "123", "Срок действия"),
            (OK_CARD, "завтра", "123", "Срок действия"),
            (OK_CARD, "12/30", "1", "CVV")]:
        at = _new_card(at, number, expiry, cvv)
        assert _errors(at).startswith(message), (number, expiry, cvv, _errors(at))
        assert _step(at) == "Способ оплаты"
    assert _payments(cab_app) == 0


def test_a_declined_card_shows_the_reason(cab_app, logged_in):
    at, _, own = logged_in()
    _with_invoices(cab_app, own.session_token)
    at.run()
    at = _new_card(_to_card_step(at), DECLINED_CARD)
    at = button(at, "Оплатить").click().run()
    if "cab_pay_otp_code" in [t.key for t in at.text_input]:
        payment_id = at.session_state["cab_pay_payment"]
        at.text_input(key="cab_pay_otp_code").input(last_otp(cab_app, payment_id))
        at = button(at, "Подтвердить").click().run()
    assert not at.exception, at.exception
    assert "Платёж отклонён" in _errors(at)


def test_back_before_paying_forgets_the_card(cab_app, logged_in):
    at, _, own = logged_in()
    _with_invoices(cab_app, own.session_token)
    at.run()
    at = _new_card(_to_card_step(at))
    assert "cab_pay_card" in at.session_state
    at = button(at, "Назад").click().run()
    assert "cab_pay_card" not in at.session_state
    assert _step(at) == "Способ оплаты"


def test_pay_on_an_invoice_starts_its_own_payment_from_the_first_step(cab_app, logged_in):
    at, _, own = logged_in()
    _with_invoices(cab_app, own.session_token)
    at.run()
    # What a payment begun earlier in this tab left behind (another invoice's step and key).
    at.session_state["cab_pay_step"] = 3
    at.session_state["cab_pay_key"] = "cab-earlier-payment-key"
    at = button(at, "Оплатить").click().run()
    assert _step(at) == "Детализация начислений"
    assert "cab_pay_key" not in at.session_state
