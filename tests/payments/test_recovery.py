"""Lost answers, crashes and their recovery: the right state and no money lost."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.cli import main as cli_main
from core.db.models import AuditEntry
from core.actors import PermissionDenied, StaffRole
from core.finance import ledger
from core.payments.machine import PaymentStatus
from core.payments import flow, recovery, refunds, state
from tests.factories.customers import make_staff
from tests.factories.payment_flow import (event_names, journal_kinds, payment_row, OK_CARD,
                                          TIMEOUT_CHARGED_CARD, TIMEOUT_NOT_CHARGED_CARD, card,
                                          last_otp, new_key, pay_invoice, payer)


def _ledger_ok(app) -> bool:
    with app.uow(write=False) as uow:
        return ledger.check(uow.session).ok


def test_time_out_charged_then_recovery_settles_it_as_paid(app, clock) -> None:
    p = payer(app)
    view = pay_invoice(app, p, TIMEOUT_CHARGED_CARD)
    assert view.status is PaymentStatus.PENDING
    assert journal_kinds(app, view.id) == []  # unknown: nothing booked yet
    assert recovery.recover_due(app).checked == 0  # not due before 5 minutes
    clock.advance(minutes=5)
    report = recovery.recover_due(app)
    assert report.outcomes == {"succeeded": 1}
    assert payment_row(app, view.id).status == PaymentStatus.SUCCEEDED.value
    assert event_names(app, view.id)[-2:] == ["gateway_timeout", "status_succeeded"]
    assert journal_kinds(app, view.id) == ["payment"]
    assert _ledger_ok(app)


def test_time_out_not_charged_then_recovery_declines(app, clock) -> None:
    p = payer(app)
    view = pay_invoice(app, p, TIMEOUT_NOT_CHARGED_CARD)
    assert view.status is PaymentStatus.PENDING
    clock.advance(minutes=5)
    assert recovery.recover_due(app).outcomes == {"declined": 1}
    payment = payment_row(app, view.id)
    assert payment.status == PaymentStatus.DECLINED.value and journal_kinds(app, view.id) == []
    assert payment.decline_reason == "Банк не ответил вовремя, деньги не списаны"


def test_unreachable_gateway_is_asked_on_schedule_then_flagged(app, clock) -> None:
    p = payer(app)
    view = pay_invoice(app, p, TIMEOUT_CHARGED_CARD)
    waits = [dict(minutes=5), dict(hours=1), dict(days=1), dict(days=1), dict(days=1)]
    outcomes = []
    for wait in waits:
        clock.advance(**wait)
        app.gateway.make_next_call_unavailable()
        outcomes.append(recovery.recover_due(app).outcomes)
        assert recovery.recover_due(app).checked == 0  # not due again at once
    assert outcomes == [{"rescheduled": 1}] * 4 + [{"manual_review": 1}]
    payment = payment_row(app, view.id)
    assert payment.manual_review and payment.next_check_at is None
    assert payment.status == PaymentStatus.PENDING.value
    # Finance asks by hand once the bank is back: settled, the flag gone.
    finance = make_staff(app, StaffRole.FINANCE)
    assert recovery.ask_gateway(app, finance, view.id) == "succeeded"
    assert not payment_row(app, view.id).manual_review


def test_crash_between_the_charge_and_our_commit_loses_no_money(app, clock,
                                                               monkeypatch) -> None:
    p = payer(app)
    view = pay_invoice(app, p, OK_CARD, confirm=False)
    code = last_otp(app, view.id)

    def crash(*_args, **_kwargs):
        raise RuntimeError("process killed after the gateway charged")

    monkeypatch.setattr(flow, "confirm_answer", crash)
    with pytest.raises(RuntimeError):
        flow.confirm_payment(app, view.id, code, token=p.token)
    monkeypatch.undo()
    txn = payment_row(app, view.id).gateway_txn_id
    assert app.gateway.status(txn).status.value == "succeeded"  # the bank took the money
    assert payment_row(app, view.id).status == PaymentStatus.AWAITING_OTP.value
    # A second confirmation meanwhile is refused: the first is still with the bank.
    with pytest.raises(state.PaymentInProgress):
        flow.confirm_payment(app, view.id, code, token=p.token)
    clock.advance(minutes=2)
    assert recovery.recover_due(app).outcomes == {"succeeded": 1}
    assert journal_kinds(app, view.id) == ["payment"]
    with app.uow(write=False) as uow:
        from core.db.models import Invoice

        assert uow.session.get(Invoice, p.invoice_id).paid_amount == 150_000
    assert _ledger_ok(app)


def test_crash_after_sending_the_card_ends_declined_without_charge(app, clock,
                                                                  monkeypatch) -> None:
    p = payer(app)
    view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    monkeypatch.setattr(flow, "_record", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("crash before the answer was recorded")))
    with pytest.raises(RuntimeError):
        flow.pay_with_new_card(app, view.id, card(), token=p.token)
    monkeypatch.undo()
    assert payment_row(app, view.id).status == PaymentStatus.CREATED.value
    with pytest.raises(state.PaymentInProgress):  # the card is with the bank
        flow.pay_with_new_card(app, view.id, card(), token=p.token)
    clock.advance(minutes=2)
    assert recovery.expire_stale(app).outcomes == {"declined": 1}
    payment = payment_row(app, view.id)
    assert payment.decline_reason == "Авторизация не завершена, деньги не списаны"
    assert journal_kinds(app, view.id) == []


def test_abandoned_payment_and_unused_password_expire(app, clock) -> None:
    p, q = payer(app), payer(app)
    left = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    waiting = pay_invoice(app, q, confirm=False)
    clock.advance(minutes=7)
    assert recovery.expire_stale(app).outcomes == {"expired": 1}  # the password
    clock.advance(minutes=9)
    assert recovery.expire_stale(app).outcomes == {"expired": 1}  # the card step
    assert payment_row(app, left.id).status == PaymentStatus.EXPIRED.value
    assert payment_row(app, waiting.id).status == PaymentStatus.EXPIRED.value
    assert event_names(app, left.id)[-1] == "abandoned"


def test_actions_on_an_unknown_outcome_ask_the_gateway_first(app, clock) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    p = payer(app)
    view = pay_invoice(app, p, TIMEOUT_CHARGED_CARD)
    app.gateway.make_next_call_unavailable()
    with pytest.raises(state.OutcomeUnknown, match="ещё не известен"):
        refunds.refund(app, finance, view.id, "100", "Ошибочный платёж")
    assert payment_row(app, view.id).refunded_amount == 0
    # The bank answers now: the refund asks first, learns «charged», and goes on.
    result = refunds.refund(app, finance, view.id, "100", "Ошибочный платёж")
    assert result.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert event_names(app, view.id)[-3:] == ["gateway_timeout", "status_succeeded",
                                          "refund_partial"]


def test_confirming_a_pending_payment_asks_the_gateway(app) -> None:
    p = payer(app)
    view = pay_invoice(app, p, TIMEOUT_NOT_CHARGED_CARD, confirm=False)
    code = last_otp(app, view.id)
    assert flow.confirm_payment(app, view.id, code, token=p.token).status is (
        PaymentStatus.PENDING)
    again = flow.confirm_payment(app, view.id, code, token=p.token)
    assert again.status is PaymentStatus.DECLINED


def test_asking_the_gateway_is_for_finance_and_audited(app, clock) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    finance = make_staff(app, StaffRole.FINANCE)
    p = payer(app)
    view = pay_invoice(app, p, TIMEOUT_CHARGED_CARD)
    with pytest.raises(PermissionDenied):
        recovery.ask_gateway(app, agent, view.id)
    assert recovery.ask_gateway(app, finance, view.id) == "succeeded"
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry)
                                   .where(AuditEntry.action == "payment.ask_gateway"))
    assert entry is not None and entry.staff_id == finance.staff_id
    assert entry.before == {"payment_id": view.id, "status": "pending"}
    assert entry.after["status"] == "succeeded"


def test_cli_payments_recover(app, clock, monkeypatch, capsys) -> None:
    p = payer(app)
    pay_invoice(app, p, TIMEOUT_CHARGED_CARD)
    clock.advance(minutes=5)
    monkeypatch.setattr("core.cli._app", lambda: app)
    assert cli_main(["payments", "recover"]) == 0
    out = capsys.readouterr().out
    assert "Уточнено в банке: checked 1 (succeeded: 1)" in out
