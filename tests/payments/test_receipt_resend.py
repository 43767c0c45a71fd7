"""«Отправить квитанцию повторно» from the payment's card: through the outbox, journaled;
refused for a payment without a receipt, a bad address refused naming the field."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.actors import PermissionDenied, StaffRole
from core.db.models import AuditEntry, Customer, OutboxMessage
from core.errors import ValidationError
from core.paging import PageRequest
from core.payments import receipt_resend, receipts
from core.payments.receipt_resend import ReceiptResendRefused, resend_receipt
from core.staff import audit
from tests.factories.customers import make_staff
from tests.factories.payment_flow import DECLINED_CARD, pay_invoice, payer


def _counts(app) -> tuple[int, int]:
    with app.uow(write=False) as uow:
        return (uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
                uow.session.scalar(select(func.count()).select_from(AuditEntry).where(
                    AuditEntry.action == receipt_resend.ACTION)) or 0)


def _message(app, message_id: int) -> OutboxMessage:
    with app.uow(write=False) as uow:
        message = uow.session.get(OutboxMessage, message_id)
        assert message is not None
        uow.session.expunge(message)
        return message


def _email_of(app, customer_id: int) -> str:
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(Customer.email).where(Customer.id == customer_id))


def test_the_receipt_goes_again_to_the_payers_email_and_is_journaled(app) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    p = payer(app)
    view = pay_invoice(app, p)
    email = _email_of(app, p.customer_id)
    assert receipt_resend.default_email(app, view.id) == email
    sent = resend_receipt(app, agent, view.id)
    assert sent.email == email
    message = _message(app, sent.message_id)
    assert (message.recipient, message.channel.value, message.status.value) == (
        email, "email", "queued")
    assert message.subject == f"Квитанция по платежу № {view.id}"
    assert "КАССОВЫЙ ЧЕК" in message.body.upper() and "411111******1111" in message.body
    assert message.customer_id == p.customer_id
    row = audit.query_entries(app, audit.AuditFilter(action=receipt_resend.ACTION),
                              PageRequest(1, 10)).items[0]
    assert row.action_label == "Повторная отправка квитанции"
    assert row.details == (f"Квитанция по платежу № {view.id} отправлена повторно на {email} "
                           f"(сообщение № {sent.message_id} в очереди отправки)")
    assert row.actor == f"Сотрудник {agent.login}" and row.customer_id == p.customer_id


def test_the_receipt_goes_to_an_address_the_agent_types(app) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    view = pay_invoice(app, payer(app))
    sent = resend_receipt(app, agent, view.id, "  Other.Person@Example.ru ")
    assert _message(app, sent.message_id).recipient == sent.email
    assert sent.email.lower() == "other.person@example.ru"


@pytest.mark.parametrize("bad", ["not-an-address", "a@", "x@y@z.ru", "a\x00b@mail.ru"])
def test_a_bad_address_is_refused_naming_the_field_and_nothing_is_queued(app, bad) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    view = pay_invoice(app, payer(app))
    before = _counts(app)
    with pytest.raises(ValidationError) as caught:
        resend_receipt(app, agent, view.id, bad)
    assert caught.value.field == "email" and "E-mail" in str(caught.value)
    assert _counts(app) == before


def test_a_payment_without_a_receipt_is_refused_and_nothing_is_queued(app) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    view = pay_invoice(app, payer(app), DECLINED_CARD)
    before = _counts(app)
    with pytest.raises(ReceiptResendRefused, match="нет квитанции, он не оплачен"):
        resend_receipt(app, agent, view.id, "ivan@example.ru")
    assert _counts(app) == before


def test_a_receipt_still_being_registered_is_refused(app) -> None:
    agent = make_staff(app, StaffRole.AGENT)
    receipts.register(app).make_next_call_unavailable()
    view = pay_invoice(app, payer(app))
    before = _counts(app)
    with pytest.raises(ReceiptResendRefused, match="регистрируется"):
        resend_receipt(app, agent, view.id)
    assert _counts(app) == before


def test_a_manager_may_not_send_receipts(app) -> None:
    manager = make_staff(app, StaffRole.MANAGER)
    view = pay_invoice(app, payer(app))
    with pytest.raises(PermissionDenied):
        resend_receipt(app, manager, view.id)
