"""Paying an invoice and any account through the services, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core.db.models import Invoice, LedgerEntry, LedgerJournal, OutboxMessage, Payment, PaymentOtp
from core.billing.invoice_rules import InvoiceAlreadyPaid, InvoiceStatus
from core.errors import ValidationError
from core.finance import ledger
from core.payments.machine import PaymentStatus
from core.payments.otp import OtpInvalid
from core.payments import flow, saved_cards, state
from tests.factories.payment_flow import (DECLINED_CARD, ERROR_CARD, INSUFFICIENT_CARD, card,
                                          event_names, event_rows, journal_kinds, last_otp, new_key,
                                          pay_invoice, payer, payment_row, wrong_otp)
from tests.factories.billing import make_invoice
from tests.factories.dbstate import snapshot


def _invoice(app, invoice_id: int) -> Invoice:
    with app.uow(write=False) as uow:
        invoice = uow.session.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice


def test_invoice_payment_succeeds_end_to_end(app) -> None:
    p = payer(app, total_due=150_000, commission_bp=100, commission_min=1_000)
    view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    assert view.status is PaymentStatus.CREATED
    assert (view.amount.kopecks, view.commission.kopecks, view.total.kopecks) == (
        150_000, 1_500, 151_500)  # 1 % of 1 500 ₽, above the 10 ₽ minimum
    view = flow.pay_with_new_card(app, view.id, card(), token=p.token)
    assert view.status is PaymentStatus.AWAITING_OTP
    assert view.masked_pan == "411111******1111"
    assert view.otp_sent_to and view.otp_sent_to.startswith("SMS на номер")
    view = flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    assert view.status is PaymentStatus.SUCCEEDED

    invoice = _invoice(app, p.invoice_id)
    assert (invoice.status, invoice.paid_amount) == (InvoiceStatus.PAID, 150_000)
    assert event_names(app, view.id) == [
        "create", "authorize_sent", "otp_required", "otp_confirmed"]
    payment = payment_row(app, view.id)
    assert payment.rrn and payment.auth_code and payment.finalized_at is not None
    assert payment.next_check_at is None
    with app.uow(write=False) as uow:
        entries = uow.session.execute(
            select(LedgerEntry.account, LedgerEntry.amount).join(LedgerJournal)
            .where(LedgerJournal.payment_id == view.id).order_by(LedgerEntry.id)).all()
        assert ledger.check(uow.session).ok
    assert sorted(entries) == sorted([("clearing", 151_500), ("provider_payable", -150_000),
                                      ("commission_income", -1_500)])


def test_the_password_is_kept_hashed_and_the_sms_redacted_after_sending(app) -> None:
    p = payer(app)
    view = pay_invoice(app, p, confirm=False)
    code = last_otp(app, view.id)
    with app.uow(write=False) as uow:
        otp_row = uow.session.scalar(select(PaymentOtp).where(PaymentOtp.payment_id == view.id))
        message = uow.session.scalar(select(OutboxMessage)
                                     .where(OutboxMessage.topic == "payment_otp"))
    assert otp_row is not None and code not in otp_row.code_hash and len(otp_row.code_hash) == 64
    assert message is not None and message.redacted_body and code not in message.redacted_body
    from core.notifications import outbox

    outbox.send_pending(app)
    with app.uow(write=False) as uow:
        sent = uow.session.get(OutboxMessage, message.id)
    assert sent is not None and code not in sent.body  # the clear code leaves with the SMS


@pytest.mark.parametrize(("number", "status", "reason"), [
    (DECLINED_CARD, PaymentStatus.DECLINED, "Отказ банка-эмитента"),
    (INSUFFICIENT_CARD, PaymentStatus.DECLINED, "Недостаточно средств"),
    (ERROR_CARD, PaymentStatus.FAILED, "Ошибка обработки платежа, попробуйте позже"),
])
def test_declined_and_failed_cards_charge_nothing(app, number, status, reason) -> None:
    p = payer(app)
    view = pay_invoice(app, p, number)
    assert (view.status, view.decline_reason) == (status, reason)
    assert journal_kinds(app, view.id) == []
    assert _invoice(app, p.invoice_id).paid_amount == 0
    assert event_rows(app, view.id)[-1][2] == status.value


def test_wrong_password_three_times_declines(app) -> None:
    p = payer(app)
    view = pay_invoice(app, p, confirm=False)
    wrong = wrong_otp(last_otp(app, view.id))
    for left in (2, 1):
        with pytest.raises(OtpInvalid, match=f"осталось попыток: {left}"):
            flow.confirm_payment(app, view.id, wrong, token=p.token)
    final = flow.confirm_payment(app, view.id, wrong, token=p.token)
    assert final.status is PaymentStatus.DECLINED
    assert final.decline_reason == "Превышено число попыток ввода кода подтверждения"
    # The right code after that confirms nothing.
    again = flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    assert again.status is PaymentStatus.DECLINED
    assert journal_kinds(app, view.id) == []
    assert app.gateway.status(payment_row(app, view.id).gateway_txn_id).status.value == "pending"


def test_expired_password_expires_the_payment(app, clock) -> None:
    p = payer(app)
    view = pay_invoice(app, p, confirm=False)
    code = last_otp(app, view.id)
    clock.advance(minutes=5, seconds=1)
    final = flow.confirm_payment(app, view.id, code, token=p.token)
    assert final.status is PaymentStatus.EXPIRED
    assert journal_kinds(app, view.id) == [] and _invoice(app, p.invoice_id).paid_amount == 0


def test_malformed_password_costs_no_attempt(app) -> None:
    p = payer(app)
    view = pay_invoice(app, p, confirm=False)
    for bad in ("", "12345", "abcdef", "１２３４５６"):
        with pytest.raises(ValidationError, match="Одноразовый пароль"):
            flow.confirm_payment(app, view.id, bad, token=p.token)
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(PaymentOtp.attempts)
                                  .where(PaymentOtp.payment_id == view.id)) == 0


def test_the_code_of_one_payment_never_confirms_another(app) -> None:
    first, second = payer(app), payer(app)
    a = pay_invoice(app, first, confirm=False)
    b = pay_invoice(app, second, confirm=False)
    code_a = last_otp(app, a.id)
    if code_a == last_otp(app, b.id):  # one in a million: pick another pair
        pytest.skip("the two random codes coincide")
    with pytest.raises(OtpInvalid):
        flow.confirm_payment(app, b.id, code_a, token=second.token)
    assert payment_row(app, b.id).status == PaymentStatus.AWAITING_OTP.value


def test_a_confirmed_payment_is_never_charged_again(app) -> None:
    p = payer(app)
    view = pay_invoice(app, p, confirm=False)
    code = last_otp(app, view.id)
    first = flow.confirm_payment(app, view.id, code, token=p.token)
    second = flow.confirm_payment(app, view.id, code, token=p.token)
    assert first.status is second.status is PaymentStatus.SUCCEEDED
    assert journal_kinds(app, view.id) == ["payment"]
    assert _invoice(app, p.invoice_id).paid_amount == 150_000


def test_same_key_same_request_returns_the_same_payment(app) -> None:
    p = payer(app)
    key = new_key()
    first = flow.start_invoice_payment(app, p.token, p.invoice_id, key)
    again = flow.start_invoice_payment(app, p.token, p.invoice_id, key)
    assert first.id == again.id
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_same_key_with_another_amount_or_account_is_refused(app) -> None:
    p = payer(app)
    other = payer(app, provider_id=p.provider_id)
    key = new_key()
    flow.start_account_payment(app, provider_id=p.provider_id, account_number=p.account_number,
                               idempotency_key=key, amount_text="100", token=p.token)
    before = snapshot(app)
    with pytest.raises(flow.IdempotencyConflict, match="Ключ запроса"):
        flow.start_account_payment(app, provider_id=p.provider_id,
                                   account_number=p.account_number, idempotency_key=key,
                                   amount_text="200", token=p.token)
    with pytest.raises(flow.IdempotencyConflict):
        flow.start_account_payment(app, provider_id=p.provider_id,
                                   account_number=other.account_number, idempotency_key=key,
                                   amount_text="100", token=p.token)
    assert snapshot(app) == before


@pytest.mark.parametrize(("text", "message"), [
    ("0", "Сумма: должна быть больше нуля"),
    ("-5", "Сумма: должна быть больше нуля"),
    ("1,005", "Сумма: не больше двух знаков после запятой"),
    ("1e3", "Сумма: введите число"),
    ("abc", "Сумма: введите число"),
    ("", "Сумма: введите сумму"),
    ("0,50", "Сумма: не меньше 1,00"),
    ("500000,01", "Сумма: не больше 500"),
])
def test_bad_amounts_are_refused_and_change_nothing(app, text, message) -> None:
    p = payer(app)
    before = snapshot(app)
    with pytest.raises(ValidationError, match=message):
        flow.start_account_payment(app, provider_id=p.provider_id,
                                   account_number=p.account_number,
                                   idempotency_key=new_key(), amount_text=text,
                                   token=p.token)
    assert snapshot(app) == before


def test_arbitrary_payment_without_a_cabinet_uses_the_receipt_email(app) -> None:
    p = payer(app)
    key = new_key()
    with pytest.raises(ValidationError, match="E-mail"):
        flow.start_account_payment(app, provider_id=p.provider_id,
                                   account_number=p.account_number, idempotency_key=key,
                                   amount_text="250,50", receipt_email="not-an-address")
    view = flow.start_account_payment(
        app, provider_id=p.provider_id, account_number=p.account_number, idempotency_key=key,
        amount_text="250,50", receipt_email="Payer@Example.ru")
    assert view.amount.kopecks == 25_050 and view.invoice_id is None
    # Without a cabinet the key is what lets the payer continue; nobody else can.
    with pytest.raises(state.PaymentNotFound):
        flow.pay_with_new_card(app, view.id, card(), key="someone-elses-key")
    view = flow.pay_with_new_card(app, view.id, card(), key=key)
    assert view.otp_sent_to and view.otp_sent_to.startswith("письмо на pa***@")
    view = flow.confirm_payment(app, view.id, last_otp(app, view.id), key=key)
    assert view.status is PaymentStatus.SUCCEEDED
    payment = payment_row(app, view.id)
    assert (payment.customer_id, payment.receipt_email) == (None, "payer@example.ru")
    assert _invoice(app, p.invoice_id).paid_amount == 0  # a free amount pays no invoice


def test_paying_the_last_invoice_of_an_account(app) -> None:
    p = payer(app, total_due=98_765)
    choice = flow.quotes.choose_account(app, p.provider_id, p.account_number)
    assert choice.last_invoice is not None and choice.last_invoice.amount.kopecks == 98_765
    assert [line.service for line in choice.last_invoice.lines] == ["Холодное водоснабжение"]
    view = flow.start_account_payment(
        app, provider_id=p.provider_id, account_number=p.account_number,
        idempotency_key=new_key(), pay_last_invoice=True, receipt_email="x@example.ru")
    assert (view.invoice_id, view.amount.kopecks) == (p.invoice_id, 98_765)


def test_an_invoice_being_paid_cannot_be_paid_again(app, clock) -> None:
    p = payer(app)
    first = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    with pytest.raises(flow.InvoicePaymentInProgress, match=f"№ {first.id}"):
        flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    clock.advance(minutes=16)  # the first one was left at the card step: it lapses
    second = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    assert payment_row(app, first.id).status == PaymentStatus.EXPIRED.value
    view = flow.pay_with_new_card(app, second.id, card(), token=p.token)
    flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    with pytest.raises(InvoiceAlreadyPaid):
        flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())


def test_another_cabinet_cannot_see_or_pay_a_payment(app) -> None:
    owner, stranger = payer(app), payer(app)
    view = flow.start_invoice_payment(app, owner.token, owner.invoice_id, new_key())
    with pytest.raises(state.PaymentNotFound, match="Платёж не найден"):
        flow.pay_with_new_card(app, view.id, card(), token=stranger.token)
    with pytest.raises(state.PaymentNotFound):
        flow.payment_status(app, view.id, token=stranger.token)


def test_a_bad_card_is_refused_before_anything_is_sent(app) -> None:
    p = payer(app)
    view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    before = snapshot(app)
    with pytest.raises(ValidationError, match="Номер карты"):
        flow.pay_with_new_card(app, view.id, card("4111 1111 1111 1112"), token=p.token)
    with pytest.raises(ValidationError, match="CVV"):
        flow.pay_with_new_card(app, view.id, card(cvv="12"), token=p.token)
    assert snapshot(app) == before


def test_a_saved_card_pays_with_only_its_cvv(app) -> None:
    p = payer(app)
    first = pay_invoice(app, p, save=True)
    cards = saved_cards.list_cards(app, p.token)
    assert [(c.masked_pan, c.is_default) for c in cards] == [("411111******1111", True)]
    assert payment_row(app, first.id).saved_card_id == cards[0].id
    # The next month's invoice, paid with the saved card: only the CVV is typed.
    invoice_id = make_invoice(app, p.account_id, date(2026, 11, 1), 80_000)
    view = flow.start_invoice_payment(app, p.token, invoice_id, new_key())
    with pytest.raises(ValidationError, match="CVV"):
        flow.pay_with_saved_card(app, p.token, view.id, cards[0].id, "1")
    view = flow.pay_with_saved_card(app, p.token, view.id, cards[0].id, "321")
    assert view.awaiting_otp and view.masked_pan == "411111******1111"
    view = flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    assert view.status is PaymentStatus.SUCCEEDED
    assert payment_row(app, view.id).saved_card_id == cards[0].id


def test_another_cabinets_or_a_removed_card_cannot_pay(app) -> None:
    owner, stranger = payer(app), payer(app)
    pay_invoice(app, owner, save=True)
    card_id = saved_cards.list_cards(app, owner.token)[0].id
    view = flow.start_invoice_payment(app, stranger.token, stranger.invoice_id, new_key())
    with pytest.raises(saved_cards.CardNotFound, match="Карта не найдена"):
        flow.pay_with_saved_card(app, stranger.token, view.id, card_id, "123")
    saved_cards.remove_card(app, owner.token, card_id)
    invoice_id = make_invoice(app, owner.account_id, date(2026, 11, 1), 80_000)
    own = flow.start_invoice_payment(app, owner.token, invoice_id, new_key())
    with pytest.raises(saved_cards.CardNotFound):
        flow.pay_with_saved_card(app, owner.token, own.id, card_id, "123")
    assert payment_row(app, own.id).status == PaymentStatus.CREATED.value


def test_a_request_repeated_after_its_payment_succeeded_returns_that_payment(app) -> None:
    p, other = payer(app), payer(app)
    key = new_key()
    first = flow.start_invoice_payment(app, p.token, p.invoice_id, key)
    view = flow.pay_with_new_card(app, first.id, card(), token=p.token)
    flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    before = snapshot(app)
    again = flow.start_invoice_payment(app, p.token, p.invoice_id, key)
    assert (again.id, again.status, again.total) == (first.id, PaymentStatus.SUCCEEDED,
                                                     first.total)
    assert snapshot(app) == before  # nothing charged or written again
    # The same key with anything else is still refused, and a new key is told it is paid.
    next_month = make_invoice(app, p.account_id, date(2026, 11, 1), 80_000)
    with pytest.raises(flow.IdempotencyConflict, match="Ключ запроса: этот ключ уже"):
        flow.start_invoice_payment(app, p.token, next_month, key)
    pay_invoice(app, other)
    with pytest.raises(flow.IdempotencyConflict):
        flow.start_invoice_payment(app, other.token, other.invoice_id, key)
    with pytest.raises(InvoiceAlreadyPaid):
        flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Payment).where(
            Payment.invoice_id == p.invoice_id)) == 1


def test_a_guest_payment_of_the_last_invoice_repeated_after_success_returns_it(app) -> None:
    p = payer(app, total_due=98_765)
    key = new_key()
    request = dict(provider_id=p.provider_id, account_number=p.account_number,
                   idempotency_key=key, pay_last_invoice=True, receipt_email="x@example.ru")
    first = flow.start_account_payment(app, **request)
    view = flow.pay_with_new_card(app, first.id, card(), key=key)
    view = flow.confirm_payment(app, view.id, last_otp(app, view.id), key=key)
    assert view.status is PaymentStatus.SUCCEEDED
    again = flow.start_account_payment(app, **request)
    assert (again.id, again.status) == (first.id, PaymentStatus.SUCCEEDED)
    with pytest.raises(flow.IdempotencyConflict):
        flow.start_account_payment(app, **{**request, "receipt_email": "y@example.ru"})
    with pytest.raises(InvoiceAlreadyPaid):
        flow.start_account_payment(app, **{**request, "idempotency_key": new_key()})
