"""Binding a card in «Способы оплаты» without paying: the bank's 1 ₽ check behind a
one-time password, released at once; on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry, CardBinding, LedgerJournal, OutboxMessage, SavedCard
from core.customers.errors import SessionInvalid
from core.errors import ValidationError
from core.finance import ledger
from core.payments import card_binding as cb, flow, gateway as g, saved_cards, state
from core.payments.machine import PaymentStatus
from core.payments.otp import OtpInvalid
from tests.factories.customers import register_and_activate
from tests.factories.dbstate import snapshot
from tests.factories.payment_flow import (DECLINED_CARD, MIR_CARD, TIMEOUT_CHARGED_CARD,
                                          TIMEOUT_NOT_CHARGED_CARD, card, last_otp, new_key,
                                          payer, wrong_otp)
from tests.payments.test_card_data_dump import assert_no_card_data, dump_tables


@pytest.fixture
def customer(app):  # type: ignore[no-untyped-def]
    return register_and_activate(app, phone="+79991234567")


def binding_otp(app, masked_last4: str = "1111") -> str:  # type: ignore[no-untyped-def]
    """The code from the newest binding SMS, read from the outbox before it is sent."""
    with app.uow(write=False) as uow:
        body = uow.session.scalar(select(OutboxMessage.body)
                                  .where(OutboxMessage.topic == cb.OTP_TOPIC)
                                  .order_by(OutboxMessage.id.desc()).limit(1))
    match = re.search(rf"карты ···· {masked_last4}: (\d{{6}})\.", body or "")
    assert match, body
    return match.group(1)


def binding_row(app, binding_id: int) -> CardBinding:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        row = uow.session.get(CardBinding, binding_id)
        assert row is not None
        return row


def journal_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        assert ledger.check(uow.session).ok
        return int(uow.session.scalar(select(func.count()).select_from(LedgerJournal)) or 0)


def audit_actions(app, customer_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry.action)
                                        .where(AuditEntry.customer_id == customer_id,
                                               AuditEntry.action.like("card.%"))))


def bind(app, token: str, number: str = "4111 1111 1111 1111"):  # type: ignore[no-untyped-def]
    view = cb.start_card_binding(app, token, card(number))
    assert view.awaiting_otp, view
    return view, cb.confirm_card_binding(app, token, view.id, binding_otp(app, number[-4:]))


def test_a_card_is_checked_with_a_one_time_password_held_and_released_then_saved(
        app, customer) -> None:
    view = cb.start_card_binding(app, customer.session_token, card())
    assert (view.status, view.masked_pan, view.title) == (
        cb.BindingStatus.AWAITING_OTP, "411111******1111", "Visa ···· 1111")
    assert view.otp_sent_to == "SMS на номер …45-67"
    assert saved_cards.list_cards(app, customer.session_token) == []
    txn = binding_row(app, view.id).gateway_txn_id
    assert app.gateway.status(txn).status == "pending"

    saved = cb.confirm_card_binding(app, customer.session_token, view.id, binding_otp(app))
    assert (saved.masked_pan, saved.is_default, saved.expiry_label) == (
        "411111******1111", True, "12/30")
    assert [c.id for c in saved_cards.list_cards(app, customer.session_token)] == [saved.id]
    bank = app.gateway.status(txn)
    assert (bank.status, bank.amount_kopecks) == ("reversed", g.VERIFY_AMOUNT_KOPECKS)
    assert app.gateway.settlement_registry(app.now().date()) == []  # nothing was charged
    assert journal_count(app) == 0  # no money moved: nothing posted
    row = binding_row(app, view.id)
    assert (row.status, row.saved_card_id, row.otp_attempts) == ("bound", saved.id, 0)
    assert row.otp_used_at is not None and row.finished_at is not None
    assert audit_actions(app, customer.customer_id) == ["card.bind"]
    text, _ = dump_tables(app)
    assert_no_card_data(text, "the database after a card binding")


def test_the_bound_card_pays_with_its_cvv_and_can_be_made_default(app) -> None:
    p = payer(app)
    _, first = bind(app, p.token)
    _, second = bind(app, p.token, MIR_CARD)
    assert (first.is_default, second.is_default, second.brand) == (True, False, "mir")
    saved_cards.make_default(app, p.token, second.id)
    cards = saved_cards.list_cards(app, p.token)
    assert [(c.id, c.is_default) for c in cards] == [(second.id, True), (first.id, False)]
    view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    view = flow.pay_with_saved_card(app, p.token, view.id, second.id, "321")
    view = flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    assert (view.status, view.masked_pan) == (PaymentStatus.SUCCEEDED, "220000******0004")


def test_wrong_passwords_count_like_a_payments_and_the_third_ends_the_binding(
        app, customer) -> None:
    view = cb.start_card_binding(app, customer.session_token, card())
    code = binding_otp(app)
    for left in (2, 1):
        with pytest.raises(OtpInvalid, match=f"Одноразовый пароль: неверный пароль, "
                                             f"осталось попыток: {left}"):
            cb.confirm_card_binding(app, customer.session_token, view.id, wrong_otp(code))
    with pytest.raises(cb.BindingOtpAttemptsExceeded,
                       match="Одноразовый пароль: превышено число попыток, карта не привязана"):
        cb.confirm_card_binding(app, customer.session_token, view.id, wrong_otp(code))
    with pytest.raises(cb.CardBindingEnded, match="Превышено число попыток"):
        cb.confirm_card_binding(app, customer.session_token, view.id, code)
    row = binding_row(app, view.id)
    assert (row.status, row.otp_attempts, row.saved_card_id) == ("declined", 3, None)
    assert saved_cards.list_cards(app, customer.session_token) == []
    assert app.gateway.status(row.gateway_txn_id).status == "pending"  # never held
    assert audit_actions(app, customer.customer_id) == [] and journal_count(app) == 0


def test_a_late_password_expires_the_binding(app, customer, clock) -> None:
    view = cb.start_card_binding(app, customer.session_token, card())
    code = binding_otp(app)
    clock.advance(minutes=5, seconds=1)
    with pytest.raises(cb.BindingOtpExpired, match="срок действия пароля истёк"):
        cb.confirm_card_binding(app, customer.session_token, view.id, code)
    assert binding_row(app, view.id).status == "expired"
    assert saved_cards.list_cards(app, customer.session_token) == []


def test_a_declined_card_ends_the_binding_without_a_password(app, customer) -> None:
    view = cb.start_card_binding(app, customer.session_token, card(DECLINED_CARD))
    assert (view.status, view.decline_reason) == (cb.BindingStatus.DECLINED,
                                                  "Отказ банка-эмитента")
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.topic == cb.OTP_TOPIC)) == 0
    assert saved_cards.list_cards(app, customer.session_token) == []


@pytest.mark.parametrize(("number", "exp_month", "cvv", "message"), [
    ("4111 1111 1111 1112", 12, "123", "Номер карты"),
    ("4111 1111 1111 1111", 13, "123", "Срок действия карты"),
    ("4111 1111 1111 1111", 12, "12", "CVV"),
])
def test_bad_card_input_names_the_field_and_changes_nothing(app, customer, number, exp_month,
                                                            cvv, message) -> None:
    before = snapshot(app)
    bad = card(number, cvv=cvv)
    bad = type(bad)(number=bad.number, exp_month=exp_month, exp_year=bad.exp_year, cvv=bad.cvv,
                    holder=bad.holder)
    with pytest.raises(ValidationError, match=message):
        cb.start_card_binding(app, customer.session_token, bad)
    assert snapshot(app) == before


def test_a_malformed_password_costs_no_attempt(app, customer) -> None:
    view = cb.start_card_binding(app, customer.session_token, card())
    before = snapshot(app)
    with pytest.raises(ValidationError, match="Одноразовый пароль: 6 цифр из SMS"):
        cb.confirm_card_binding(app, customer.session_token, view.id, "12ab")
    assert snapshot(app) == before


def test_a_card_already_bound_is_refused_naming_the_number(app, customer) -> None:
    bind(app, customer.session_token)
    before = snapshot(app)
    with pytest.raises(ValidationError, match="Номер карты: эта карта уже привязана"):
        cb.start_card_binding(app, customer.session_token, card())
    assert snapshot(app) == before


def test_another_cabinets_binding_is_not_found_and_untouched(app, customer) -> None:
    other = register_and_activate(app)
    view = cb.start_card_binding(app, other.session_token, card())
    code = binding_otp(app)
    before = snapshot(app)
    for binding_id in (view.id, 999_999, "1; drop"):
        with pytest.raises(cb.CardBindingNotFound, match="Привязка карты не найдена"):
            cb.confirm_card_binding(app, customer.session_token, binding_id, code)  # type: ignore[arg-type]
    assert snapshot(app) == before
    with pytest.raises(SessionInvalid):
        cb.start_card_binding(app, "bad-token", card())


def test_confirming_a_bound_card_again_returns_it_and_saves_nothing_more(app, customer) -> None:
    view, saved = bind(app, customer.session_token)
    again = cb.confirm_card_binding(app, customer.session_token, view.id, "000000")
    assert again.id == saved.id
    assert audit_actions(app, customer.customer_id) == ["card.bind"]
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(SavedCard)) == 1


def test_a_hold_not_yet_released_is_released_when_confirmed_again(app, customer,
                                                                  monkeypatch) -> None:
    view = cb.start_card_binding(app, customer.session_token, card())
    code = binding_otp(app)
    real_reverse = app.gateway.reverse

    def unreachable(txn: str) -> g.ReverseResponse:
        raise g.GatewayUnavailable("Шлюз недоступен")
    monkeypatch.setattr(app.gateway, "reverse", unreachable)
    with pytest.raises(state.GatewayDown):
        cb.confirm_card_binding(app, customer.session_token, view.id, code)
    row = binding_row(app, view.id)
    assert row.status == "confirming" and app.gateway.status(row.gateway_txn_id).status == "authorized"
    assert saved_cards.list_cards(app, customer.session_token) == []
    monkeypatch.setattr(app.gateway, "reverse", real_reverse)
    saved = cb.confirm_card_binding(app, customer.session_token, view.id, code)
    assert app.gateway.status(row.gateway_txn_id).status == "reversed"
    assert [c.id for c in saved_cards.list_cards(app, customer.session_token)] == [saved.id]


@pytest.mark.parametrize(("number", "bound"), [(TIMEOUT_CHARGED_CARD, True),
                                               (TIMEOUT_NOT_CHARGED_CARD, False)])
def test_a_lost_answer_to_the_password_is_settled_by_asking_the_bank(app, customer, number,
                                                                     bound) -> None:
    view = cb.start_card_binding(app, customer.session_token, card(number))
    code = binding_otp(app, number[-4:])
    if bound:
        saved = cb.confirm_card_binding(app, customer.session_token, view.id, code)
        assert saved.masked_pan.endswith(number[-4:])
        txn = binding_row(app, view.id).gateway_txn_id
        assert app.gateway.status(txn).status == "reversed"
    else:
        with pytest.raises(cb.CardBindingEnded, match="карта не привязана"):
            cb.confirm_card_binding(app, customer.session_token, view.id, code)
        assert binding_row(app, view.id).status == "failed"
        assert saved_cards.list_cards(app, customer.session_token) == []
    assert journal_count(app) == 0


def test_the_agents_view_of_the_cabinet_cannot_bind_a_card(app, customer, agent) -> None:
    from core.customers.errors import ViewOnlySession
    from tests.factories.customers import cabinet_view_token

    pending = cb.start_card_binding(app, customer.session_token, card())
    token = cabinet_view_token(app, agent, customer.customer_id)
    before = snapshot(app)
    with pytest.raises(ViewOnlySession):
        cb.start_card_binding(app, token, card(MIR_CARD))
    with pytest.raises(ViewOnlySession):
        cb.confirm_card_binding(app, token, pending.id, binding_otp(app))
    assert snapshot(app) == before


def test_a_bank_unreachable_at_the_password_lets_it_be_entered_again(app, customer) -> None:
    view = cb.start_card_binding(app, customer.session_token, card())
    code = binding_otp(app)
    app.gateway.make_next_call_unavailable()
    with pytest.raises(state.GatewayDown, match="Банк временно недоступен"):
        cb.confirm_card_binding(app, customer.session_token, view.id, code)
    row = binding_row(app, view.id)
    assert (row.status, row.otp_used_at) == ("awaiting_otp", None)
    saved = cb.confirm_card_binding(app, customer.session_token, view.id, code)
    assert [c.id for c in saved_cards.list_cards(app, customer.session_token)] == [saved.id]
