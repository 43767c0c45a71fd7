"""Refunds (finance) and receipts (fiscal data, HTML and PDF, sent per subscription)."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.db.models import (AuditEntry, Invoice, LedgerJournal, OutboxMessage, Payment, Receipt,
                            Refund)
from core.billing.invoice_rules import InvoiceStatus
from core.actors import PermissionDenied, StaffRole
from core.errors import ValidationError
from core.finance import ledger
from core.payments.machine import PaymentStatus
from core.payments import flow, receipts, refunds, state
from tests.factories.customers import make_staff
from tests.factories.payment_flow import (DECLINED_CARD, TIMEOUT_CHARGED_CARD, card, last_otp,
                                          new_key, pay_invoice, payer)
from tests.factories.dbstate import snapshot


def _get(app, model, key):
    with app.uow(write=False) as uow:
        row = uow.session.get(model, key)
        assert row is not None
        return row


def test_partial_then_full_refund(app) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    p = payer(app, total_due=150_000)
    view = pay_invoice(app, p)
    first = refunds.refund(app, finance, view.id, "500,25", "Двойная оплата")
    assert first.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert first.refunded_total.kopecks == 50_025
    invoice = _get(app, Invoice, p.invoice_id)
    assert (invoice.status, invoice.paid_amount) == (InvoiceStatus.PARTIALLY_PAID, 99_975)
    second = refunds.refund(app, finance, view.id, "999,75", "Двойная оплата")
    assert second.payment_status is PaymentStatus.REFUNDED
    payment = _get(app, Payment, view.id)
    assert payment.refunded_amount == payment.amount == 150_000
    assert _get(app, Invoice, p.invoice_id).paid_amount == 0
    txn = app.gateway.status(payment.gateway_txn_id)
    assert txn.refunded_kopecks == 150_000  # the money really went back
    with app.uow(write=False) as uow:
        kinds = list(uow.session.scalars(select(LedgerJournal.kind)
                                         .where(LedgerJournal.payment_id == view.id)
                                         .order_by(LedgerJournal.id)))
        assert ledger.check(uow.session).ok
        balances = ledger.balances(uow.session)
        audit_rows = list(uow.session.scalars(select(AuditEntry)
                                              .where(AuditEntry.action == "payment.refund")))
    assert kinds == ["payment", "refund", "refund"]
    assert balances.payable.get(p.provider_id, 0) == 0
    assert balances.commission_income == 1_500  # the agent's fee is not refunded
    assert balances.clearing == 1_500
    assert [a.reason for a in audit_rows] == ["Двойная оплата"] * 2
    assert all(a.staff_id == finance.staff_id for a in audit_rows)
    with pytest.raises(refunds.NotRefundable, match="Возвращён"):
        refunds.refund(app, finance, view.id, "1", "Ещё раз")


def test_refund_above_what_was_paid_is_refused_and_changes_nothing(app) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    p = payer(app, total_due=150_000)
    view = pay_invoice(app, p)
    refunds.refund(app, finance, view.id, "1000", "Частичный возврат")
    before = snapshot(app)
    with pytest.raises(ValidationError, match=r"Сумма возврата: не больше 500,00"):
        refunds.refund(app, finance, view.id, "500,01", "Слишком много")
    for text, message in (("0", "больше нуля"), ("-5", "больше нуля"),
                          ("1,005", "двух знаков"), ("abc", "введите число")):
        with pytest.raises(ValidationError, match=f"Сумма возврата: .*{message}"):
            refunds.refund(app, finance, view.id, text, "Причина")
    with pytest.raises(ValidationError, match="Причина возврата"):
        refunds.refund(app, finance, view.id, "1", "   ")
    assert snapshot(app) == before


def test_refunds_are_for_finance_and_successful_payments_only(app) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    finance = make_staff(app, StaffRole.FINANCE)
    paid = pay_invoice(app, payer(app))
    declined = pay_invoice(app, payer(app), DECLINED_CARD)
    with pytest.raises(PermissionDenied):
        refunds.refund(app, agent, paid.id, "1", "Просьба клиента")
    with pytest.raises(refunds.NotRefundable, match="Отклонён"):
        refunds.refund(app, finance, declined.id, "1", "Просьба клиента")
    with pytest.raises(state.PaymentNotFound):
        refunds.refund(app, finance, 999_999, "1", "Просьба клиента")


def test_a_lost_refund_answer_is_retried_once_with_the_same_key(app, clock) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    p = payer(app)
    view = pay_invoice(app, p)
    app.gateway.make_next_call_time_out(charged=True)  # refunded, the answer lost
    with pytest.raises(refunds.RefundPending):
        refunds.refund(app, finance, view.id, "100", "Просьба клиента")
    # What is under way counts: nobody can refund the same money meanwhile.
    with pytest.raises(ValidationError, match="Сумма возврата: не больше 1\u00a0400,00"):
        refunds.refund(app, finance, view.id, "1500", "Просьба клиента")
    clock.advance(minutes=3)
    assert refunds.retry_requested(app) == 1
    assert refunds.retry_requested(app) == 0
    payment = _get(app, Payment, view.id)
    assert payment.refunded_amount == 10_000
    assert app.gateway.status(payment.gateway_txn_id).refunded_kopecks == 10_000
    with app.uow(write=False) as uow:
        statuses = list(uow.session.scalars(select(Refund.status)))
    assert statuses == ["succeeded"]


def test_success_fiscalises_the_receipt_and_sends_it(app) -> None:
    p = payer(app)
    view = pay_invoice(app, p)
    with app.uow(write=False) as uow:
        receipt = uow.session.scalar(select(Receipt).where(Receipt.payment_id == view.id))
        mails = list(uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == "payment_result")))
    assert receipt is not None and receipt.fiscal_document_number is not None
    assert receipt.fiscal_drive_number and len(receipt.fiscal_sign or "") == 10
    # The defaults: payment results by e-mail, not by SMS.
    assert [m.channel.value for m in mails] == ["email"]
    assert receipt.sent_to == mails[0].recipient
    assert f"Платёж № {view.id}" in (mails[0].subject or "")
    assert receipt.fiscal_drive_number in mails[0].body and "411111******1111" in mails[0].body


def _result_mail(app, payment_id: int) -> OutboxMessage:
    with app.uow(write=False) as uow:
        return uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == "payment_result",
            OutboxMessage.body.contains(f"Платёж № {payment_id} "))).one()


def test_the_result_mail_of_a_cabinet_points_to_the_cabinet(app) -> None:
    view = pay_invoice(app, payer(app))
    body = _result_mail(app, view.id).body
    assert "в личном кабинете, в разделе «История операций»" in body
    assert "411111******1111" in body  # the receipt itself is in the mail too


def test_the_result_mail_of_a_payer_without_a_cabinet_carries_the_receipt_not_the_cabinet(
        app) -> None:
    p = payer(app)
    key = new_key()
    view = flow.start_account_payment(
        app, provider_id=p.provider_id, account_number=p.account_number, idempotency_key=key,
        amount_text="250,50", receipt_email="guest@example.ru")
    view = flow.pay_with_new_card(app, view.id, card(), key=key)
    view = flow.confirm_payment(app, view.id, last_otp(app, view.id), key=key)
    mail = _result_mail(app, view.id)
    assert (mail.recipient, mail.subject) == ("guest@example.ru",
                                              f"Платёж № {view.id}: успешно оплачен")
    assert "кабинет" not in mail.body.lower()
    assert "Кассовый чек — ниже в этом письме" in mail.body
    assert "411111******1111" in mail.body and "250,50" in mail.body


def test_receipt_pdf_and_html_for_staff(app) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    p = payer(app)
    view = pay_invoice(app, p)
    pdf = receipts.receipt_pdf(app, agent, view.id)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Кассовый чек" in text and "411111******1111" in text
    assert p.account_number in text and "1 515,00" in text.replace("\u00a0", " ")
    html = receipts.receipt_html(app, agent, view.id)
    assert "Кассовый чек" in html and "4111111111111111" not in html


def test_declined_payment_gets_a_statement_not_a_receipt(app) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    view = pay_invoice(app, payer(app), DECLINED_CARD)
    html = receipts.receipt_html(app, agent, view.id)
    assert "Справка об операции" in html and "Отказ банка-эмитента" in html
    assert "Кассовый чек" not in html


def test_no_receipt_while_the_outcome_is_unknown(app) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    view = pay_invoice(app, payer(app), TIMEOUT_CHARGED_CARD)
    with pytest.raises(receipts.ReceiptNotReady, match="окончательный статус"):
        receipts.receipt_pdf(app, agent, view.id)


def test_fiscal_register_down_the_receipt_waits_for_the_worker(app, clock) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    receipts.register(app).make_next_call_unavailable()
    view = pay_invoice(app, payer(app))
    assert view.status is PaymentStatus.SUCCEEDED  # the payment does not wait for the register
    with pytest.raises(receipts.ReceiptNotReady, match="регистрируется"):
        receipts.receipt_html(app, agent, view.id)
    assert receipts.fiscalise_due(app).fiscalised == 0  # not due yet
    clock.advance(minutes=1)
    assert receipts.fiscalise_due(app).fiscalised == 1
    assert "Кассовый чек" in receipts.receipt_html(app, agent, view.id)


def test_the_customer_downloads_only_their_own_receipt(app) -> None:
    owner, stranger = payer(app), payer(app)
    view = pay_invoice(app, owner)
    pdf = receipts.customer_receipt_pdf(app, owner.token, view.id)
    assert pdf.startswith(b"%PDF")
    with pytest.raises(state.PaymentNotFound):
        receipts.customer_receipt_pdf(app, stranger.token, view.id)


def test_managers_get_no_receipts(app) -> None:
    manager = make_staff(app, StaffRole.MANAGER)
    view = pay_invoice(app, payer(app))
    with pytest.raises(PermissionDenied):
        receipts.receipt_pdf(app, manager, view.id)
