"""A card check's 1 ₽ hold left on the card (the reversal unreachable or refused, the
bank's answer lost and its status unaskable) is released by the worker's job, which
never saves the card; on SQLite and PostgreSQL."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from core.db.models import SavedCard
from core.payments import binding_holds, card_binding as cb, gateway as g, state
from tests.factories.payment_flow import TIMEOUT_CHARGED_CARD, TIMEOUT_NOT_CHARGED_CARD, card
from tests.payments.test_card_binding import (audit_actions, binding_otp, binding_row,
                                              customer, journal_count)
from tests.payments.test_concurrency import errors_of, run_together

__all__ = ["customer"]  # the fixture, shared with test_card_binding


def bank_down_after_confirm(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bank takes the password (placing the hold), then cannot be reached: the next
    call, the reversal or the question about a lost answer, never gets there."""
    real = app.gateway.confirm

    def confirm(request: g.ConfirmRequest) -> g.ConfirmResponse:
        try:
            return real(request)
        finally:
            app.gateway.make_next_call_unavailable()
    monkeypatch.setattr(app.gateway, "confirm", confirm)


def left_held(app, customer, monkeypatch, number: str = "4111 1111 1111 1111",  # type: ignore[no-untyped-def]
              error: type[Exception] = state.GatewayDown):
    """A binding whose customer confirmed, was refused by ``error`` and gave up."""
    view = cb.start_card_binding(app, customer.session_token, card(number))
    code = binding_otp(app, number[-4:])
    bank_down_after_confirm(app, monkeypatch)
    with pytest.raises(error):
        cb.confirm_card_binding(app, customer.session_token, view.id, code)
    monkeypatch.undo()
    return view, code, binding_row(app, view.id).gateway_txn_id


def saved_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(SavedCard)) or 0)


def assert_nothing_charged(app) -> None:  # type: ignore[no-untyped-def]
    assert app.gateway.settlement_registry(app.now().date()) == []
    assert journal_count(app) == 0  # the ledger untouched (and balanced)


def test_a_reversal_that_never_reached_the_bank_is_released_by_the_job_card_not_saved(
        app, customer, clock, monkeypatch) -> None:
    view, code, txn = left_held(app, customer, monkeypatch)
    row = binding_row(app, view.id)
    assert row.status == "confirming" and row.hold_check_at is not None
    assert app.gateway.status(txn).status == "authorized"  # the customer's 1 ₽ is held
    assert binding_holds.release_due(app).checked == 0  # the customer's own retry first
    clock.advance(minutes=10)

    assert binding_holds.release_due(app).outcomes == {"released": 1}

    bank = app.gateway.status(txn)
    assert (bank.status, bank.amount_kopecks) == ("reversed", g.VERIFY_AMOUNT_KOPECKS)
    row = binding_row(app, view.id)
    assert (row.status, row.decline_code, row.saved_card_id, row.hold_check_at) == (
        "failed", "released_unbound", None, None)
    assert row.hold_released_at == clock.now()
    assert saved_count(app) == 0 and audit_actions(app, customer.customer_id) == [
        "card.hold_released"]
    assert_nothing_charged(app)
    # Once released, nothing is due; the customer coming back is told to add it again.
    assert binding_holds.release_due(app).checked == 0
    with pytest.raises(cb.CardBindingEnded, match="1 ₽ возвращён на карту: карта не "
                                                  "привязана, попробуйте добавить её ещё раз"):
        cb.confirm_card_binding(app, customer.session_token, view.id, code)
    assert saved_count(app) == 0 and app.gateway.status(txn).status == "reversed"


def test_the_customers_retry_before_the_job_saves_the_card_and_leaves_nothing_due(
        app, customer, clock, monkeypatch) -> None:
    view, code, txn = left_held(app, customer, monkeypatch)
    clock.advance(minutes=3)
    saved = cb.confirm_card_binding(app, customer.session_token, view.id, code)
    row = binding_row(app, view.id)
    assert (row.status, row.saved_card_id, row.hold_check_at) == ("bound", saved.id, None)
    assert row.hold_released_at is not None
    clock.advance(minutes=10)
    assert binding_holds.release_due(app).checked == 0
    assert app.gateway.status(txn).status == "reversed"
    assert audit_actions(app, customer.customer_id) == ["card.bind"]
    assert saved_count(app) == 1
    assert_nothing_charged(app)


def test_a_release_whose_answer_was_lost_is_recorded_without_reversing_again(
        app, customer, clock, monkeypatch) -> None:
    view = cb.start_card_binding(app, customer.session_token, card())
    real = app.gateway.confirm

    def confirm(request: g.ConfirmRequest) -> g.ConfirmResponse:
        answer = real(request)
        app.gateway.make_next_call_time_out(charged=True)  # the reversal done, answer lost
        return answer
    monkeypatch.setattr(app.gateway, "confirm", confirm)
    with pytest.raises(state.GatewayDown):
        cb.confirm_card_binding(app, customer.session_token, view.id, binding_otp(app))
    monkeypatch.undo()
    txn = binding_row(app, view.id).gateway_txn_id
    assert app.gateway.status(txn).status == "reversed"
    assert binding_row(app, view.id).hold_check_at is not None  # we do not know that yet
    monkeypatch.setattr(app.gateway, "reverse", lambda txn: pytest.fail("reversed again"))
    clock.advance(minutes=10)
    assert binding_holds.release_due(app).outcomes == {"released": 1}
    row = binding_row(app, view.id)
    assert (row.status, row.hold_check_at, row.saved_card_id) == ("failed", None, None)
    assert_nothing_charged(app)


def test_a_reversal_the_bank_refused_is_retried_by_the_job(app, customer, clock,
                                                           monkeypatch) -> None:
    view = cb.start_card_binding(app, customer.session_token, card())
    real_reverse = app.gateway.reverse
    refused = {"times": 0}

    def reverse(txn: str) -> g.ReverseResponse:
        if refused["times"] < 2:  # the issuer's system fails twice, the hold stays
            refused["times"] += 1
            return g.ReverseResponse(g.ReverseStatus.DECLINED, txn,
                                     decline_code=g.PROCESSING_ERROR,
                                     decline_message_ru=g.decline_message(g.PROCESSING_ERROR))
        return real_reverse(txn)
    monkeypatch.setattr(app.gateway, "reverse", reverse)
    with pytest.raises(cb.CardBindingEnded, match="Ошибка обработки платежа"):
        cb.confirm_card_binding(app, customer.session_token, view.id, binding_otp(app))
    row = binding_row(app, view.id)
    assert (row.status, row.decline_code) == ("failed", g.PROCESSING_ERROR)
    assert app.gateway.status(row.gateway_txn_id).status == "authorized"  # still held

    clock.advance(minutes=10)
    assert binding_holds.release_due(app).outcomes == {"rescheduled": 1}  # refused again
    assert app.gateway.status(row.gateway_txn_id).status == "authorized"
    clock.advance(minutes=5)
    assert binding_holds.release_due(app).outcomes == {"released": 1}

    assert app.gateway.status(row.gateway_txn_id).status == "reversed"
    row = binding_row(app, view.id)
    assert (row.status, row.decline_code, row.hold_check_at, row.saved_card_id) == (
        "failed", g.PROCESSING_ERROR, None, None)  # what the customer was told stands
    assert saved_count(app) == 0 and audit_actions(app, customer.customer_id) == [
        "card.hold_released"]
    assert_nothing_charged(app)


@pytest.mark.parametrize(("number", "held"), [(TIMEOUT_CHARGED_CARD, True),
                                              (TIMEOUT_NOT_CHARGED_CARD, False)])
def test_a_lost_answer_whose_status_could_not_be_asked_is_settled_by_the_job(
        app, customer, clock, monkeypatch, number, held) -> None:
    view, _, txn = left_held(app, customer, monkeypatch, number)
    assert binding_row(app, view.id).status == "confirming"
    assert app.gateway.status(txn).status == ("authorized" if held else "declined")
    clock.advance(minutes=10)

    outcome = binding_holds.release_due(app).outcomes

    row = binding_row(app, view.id)
    assert (row.status, row.saved_card_id, row.hold_check_at) == ("failed", None, None)
    if held:
        assert outcome == {"released": 1}
        assert app.gateway.status(txn).status == "reversed"
        assert row.decline_reason == binding_holds.RELEASED_REASON
        assert audit_actions(app, customer.customer_id) == ["card.hold_released"]
    else:
        assert outcome == {"not_held": 1} and row.hold_released_at is None
        assert row.decline_reason == binding_holds.NOT_HELD_REASON
        assert audit_actions(app, customer.customer_id) == ["card.hold_not_placed"]
    assert saved_count(app) == 0
    assert_nothing_charged(app)


def test_a_bank_that_cannot_be_asked_is_asked_again_with_backoff_until_released(
        app, customer, clock, monkeypatch, caplog) -> None:
    view, _, txn = left_held(app, customer, monkeypatch)
    clock.advance(minutes=10)
    outcomes = []
    for wait in binding_holds.HOLD_RECHECK + binding_holds.HOLD_RECHECK[-1:]:
        app.gateway.make_next_call_unavailable()
        outcomes.append(binding_holds.release_due(app).outcomes)
        clock.advance(seconds=wait.total_seconds() - 1)
        assert binding_holds.release_due(app).checked == 0  # not due again before its time
        clock.advance(seconds=1)
    assert outcomes == [{"rescheduled": 1}] * 5
    assert "still not released after 5 checks" in caplog.text
    assert app.gateway.status(txn).status == "authorized"
    assert binding_row(app, view.id).hold_check_attempts == 5
    assert binding_holds.release_due(app).outcomes == {"released": 1}
    assert app.gateway.status(txn).status == "reversed" and saved_count(app) == 0


def test_releasing_twice_releases_nothing_more(app, customer, clock, monkeypatch) -> None:
    view, _, txn = left_held(app, customer, monkeypatch)
    clock.advance(minutes=10)
    assert binding_holds.release_one(app, view.id) == "released"
    first = binding_row(app, view.id).hold_released_at
    clock.advance(minutes=1)
    assert binding_holds.release_one(app, view.id) == "failed"  # nothing to do
    assert binding_row(app, view.id).hold_released_at == first
    assert audit_actions(app, customer.customer_id) == ["card.hold_released"]
    assert app.gateway.reverse(txn).amount_kopecks == g.VERIFY_AMOUNT_KOPECKS  # one hold
    assert_nothing_charged(app)


def test_the_job_releasing_while_the_customers_retry_is_with_the_bank_saves_nothing(
        app, customer, clock, monkeypatch) -> None:
    """The job's release lands between the customer's reversal and its save: the customer
    is told to add the card again, and the job's ending stands."""
    view, code, txn = left_held(app, customer, monkeypatch)
    clock.advance(minutes=10)
    real_reverse = app.gateway.reverse

    def reverse_then_job(txn_id: str) -> g.ReverseResponse:
        answer = real_reverse(txn_id)
        monkeypatch.setattr(app.gateway, "reverse", real_reverse)
        assert binding_holds.release_due(app).outcomes == {"released": 1}
        return answer
    monkeypatch.setattr(app.gateway, "reverse", reverse_then_job)
    with pytest.raises(cb.CardBindingEnded, match="попробуйте добавить её ещё раз"):
        cb.confirm_card_binding(app, customer.session_token, view.id, code)
    row = binding_row(app, view.id)
    assert (row.status, row.saved_card_id, row.hold_check_at) == ("failed", None, None)
    assert saved_count(app) == 0
    assert audit_actions(app, customer.customer_id) == ["card.hold_released"]
    assert app.gateway.status(txn).status == "reversed"
    assert_nothing_charged(app)


@pytest.mark.parametrize("bank", ["fast", "slow"])
def test_the_job_and_the_customers_retry_at_once_end_it_one_way(app, customer, clock,
                                                                 monkeypatch, bank) -> None:
    view, code, txn = left_held(app, customer, monkeypatch)
    clock.advance(minutes=10)
    if bank == "slow":
        real_reverse = app.gateway.reverse

        def slow(txn_id: str) -> g.ReverseResponse:
            time.sleep(0.3)
            return real_reverse(txn_id)
        monkeypatch.setattr(app.gateway, "reverse", slow)

    outcomes = run_together([
        lambda: binding_holds.release_due(app),
        lambda: cb.confirm_card_binding(app, customer.session_token, view.id, code)])

    errors = errors_of(outcomes)
    assert all(isinstance(e, cb.CardBindingEnded) for e in errors), errors
    row = binding_row(app, view.id)
    actions = audit_actions(app, customer.customer_id)
    if row.status == "bound":  # the customer's retry won: their card, saved once
        assert not errors and saved_count(app) == 1 and actions == ["card.bind"]
    else:  # the job won: released, nothing saved, the customer told so
        assert (row.status, saved_count(app)) == ("failed", 0)
        assert len(errors) == 1 and actions == ["card.hold_released"]
    assert row.hold_check_at is None and row.hold_released_at is not None
    assert app.gateway.status(txn).status == "reversed"
    assert binding_holds.release_due(app).checked == 0
    assert_nothing_charged(app)


def test_bindings_written_before_the_migration_that_may_hold_money_are_due_at_once(
        app, customer, monkeypatch) -> None:
    from sqlalchemy import text

    from core.db.migrate import downgrade, upgrade

    held, _, _ = left_held(app, customer, monkeypatch)
    bound = cb.start_card_binding(app, customer.session_token, card("2200 0000 0000 0004"))
    cb.confirm_card_binding(app, customer.session_token, bound.id, binding_otp(app, "0004"))
    waiting = cb.start_card_binding(app, customer.session_token, card("5555 5555 5555 4444"))
    downgrade(app.engine, "0020")
    upgrade(app.engine)
    with app.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(text(
            "SELECT id, updated_at, finished_at, hold_check_at, hold_released_at, "
            "hold_check_attempts FROM card_bindings"))}
    assert rows[held.id].hold_check_at is not None and rows[held.id].hold_released_at is None
    assert rows[bound.id].hold_check_at is None and rows[bound.id].hold_released_at is not None
    assert rows[waiting.id].hold_check_at is None and rows[waiting.id].hold_released_at is None
    assert {r.hold_check_attempts for r in rows.values()} == {0}
    assert binding_holds.release_due(app).outcomes == {"released": 1}  # due at once
    assert saved_count(app) == 1
