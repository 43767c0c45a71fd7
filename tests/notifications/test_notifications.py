"""The notifications outbox, and the append-only audit log."""
from __future__ import annotations


import pytest
import sqlalchemy.exc
from sqlalchemy import delete, select, text, update

from core.db.models import AuditEntry, OutboxMessage
from core.notifications.channels import Channel, MessageStatus
from core.customers import contact_center, cabinet
from core.notifications import outbox
from core.notifications.outbox import MAX_SEND_ATTEMPTS, RETRY_BACKOFF
from tests.factories.customers import make_staff, register, register_and_activate
from tests.factories.dbstate import count, snapshot


def _enqueue_email(app, customer_id=None, recipient="ivan@example.ru"):
    with app.uow() as uow:
        message = outbox.enqueue(
            uow.session, now=app.now(), customer_id=customer_id, channel=Channel.EMAIL,
            topic="invoice", recipient=recipient, subject="Счёт за ноябрь",
            body="Сумма к оплате: 1 234,56 ₽")
        uow.commit()
        return message.id


def _message(app, message_id):
    with app.uow(write=False) as uow:
        m = uow.session.get(OutboxMessage, message_id)
        return m.status, m.attempts, m.next_attempt_at, m.sent_at, m.last_error


def test_send_pending_hands_messages_over_and_marks_them_sent(app, clock, email_sender):
    register(app)
    email_id = _enqueue_email(app)
    clock.advance(seconds=5)
    report = outbox.send_pending(app)
    assert (report.sent, report.failed, report.retrying) == (2, 0, 0)
    # next_attempt_at holds the claim's lease (a crash before settling resends after it).
    assert _message(app, email_id) == (MessageStatus.SENT, 1,
                                       clock.now() + outbox.SEND_LEASE, clock.now(), None)
    assert [(m.recipient, m.subject) for m in email_sender.sent] == [
        ("ivan@example.ru", "Счёт за ноябрь")]
    assert "Код активации" in (app.settings.notify_log_dir / "sms.log").read_text("utf-8")
    assert outbox.send_pending(app).sent == 0  # nothing is sent twice
    assert len(email_sender.sent) == 1


def test_failing_sender_retries_with_growing_backoff_then_gives_up(app, clock, email_sender):
    email_sender.fail_with = "smtp down"
    message_id = _enqueue_email(app)
    for attempt, pause in enumerate(RETRY_BACKOFF, start=1):
        report = outbox.send_pending(app)
        assert report.retrying == 1
        status, attempts, next_at, sent_at, error = _message(app, message_id)
        assert (status, attempts, next_at, sent_at, error) == (
            MessageStatus.QUEUED, attempt, clock.now() + pause, None, "smtp down")
        clock.advance(seconds=pause.total_seconds() - 1)
        assert outbox.send_pending(app).retrying == 0  # not due yet
        clock.advance(seconds=1)
    assert outbox.send_pending(app).failed == 1
    status, attempts, _, sent_at, error = _message(app, message_id)
    assert (status, attempts, sent_at, error) == (
        MessageStatus.FAILED, MAX_SEND_ATTEMPTS, None, "smtp down")
    clock.advance(days=1)
    assert outbox.send_pending(app) == outbox.SendReport(0, 0, 0)
    assert email_sender.sent == []


def test_message_sent_after_a_failure_forgets_the_error(app, clock, email_sender):
    email_sender.fail_with = "smtp down"
    message_id = _enqueue_email(app)
    outbox.send_pending(app)
    email_sender.fail_with = None
    clock.advance(minutes=1)
    assert outbox.send_pending(app).sent == 1
    status, attempts, _, sent_at, error = _message(app, message_id)
    assert (status, attempts, sent_at, error) == (MessageStatus.SENT, 2, clock.now(), None)


def test_failure_of_one_channel_does_not_hold_up_the_other(app, email_sender):
    email_sender.fail_with = "smtp down"
    register(app)
    _enqueue_email(app)
    report = outbox.send_pending(app)
    assert (report.sent, report.retrying) == (1, 1)


def test_queued_message_of_a_blocked_cabinet_is_not_sent(app, email_sender):
    """A block means «no notifications», also for what was queued before it."""
    login = register_and_activate(app)
    message_id = _enqueue_email(app, customer_id=login.customer_id)
    cabinet.block_own_cabinet(app, login.session_token, "Уезжаю надолго")
    outbox.send_pending(app)
    assert email_sender.sent == []
    status, _, _, sent_at, error = _message(app, message_id)
    assert (status, sent_at) == (MessageStatus.FAILED, None) and "заблокирован" in error


def test_activation_sms_queued_before_a_staff_block_is_not_sent_in_clear(app):
    customer_id = register(app)
    contact_center.block(app, make_staff(app), customer_id, "Подозрение на мошенничество")
    outbox.send_pending(app)
    assert not (app.settings.notify_log_dir / "sms.log").exists()
    with app.uow(write=False) as uow:
        body = uow.session.scalars(select(OutboxMessage.body)).one()
    assert "****" in body and not any(ch.isdigit() for ch in body)


@pytest.mark.parametrize("statement", [
    pytest.param(lambda: update(AuditEntry).values(reason="подчищено"), id="orm-update"),
    pytest.param(lambda: delete(AuditEntry), id="orm-delete"),
    pytest.param(lambda: text("UPDATE audit_log SET action = 'x'"), id="sql-update"),
    pytest.param(lambda: text("DELETE FROM audit_log WHERE id > 0"), id="sql-delete"),
])
def test_audit_log_refuses_update_and_delete(app, statement):
    register(app)
    before = snapshot(app)
    assert count(app, AuditEntry) == 1
    with pytest.raises(sqlalchemy.exc.DBAPIError) as error:
        with app.uow() as uow:
            uow.session.execute(statement())
            uow.commit()
    assert "append-only" in str(error.value)
    assert snapshot(app) == before


def test_audit_log_accepts_new_rows(app):
    register(app)
    with app.uow(write=False) as uow:
        actions = uow.session.scalars(select(AuditEntry.action)).all()
    assert actions == ["customer.register"]


def test_a_message_claimed_by_a_sender_that_died_is_sent_again_after_the_lease(
        app, clock, email_sender):
    email_id = _enqueue_email(app)
    claimed = outbox._claim(app, email_id)  # the process dies right after sending
    assert claimed.message_id == email_id
    assert outbox.send_pending(app).sent == 0  # the lease keeps other workers off
    clock.advance(seconds=outbox.SEND_LEASE.total_seconds() + 1)
    assert outbox.send_pending(app).sent == 1
    status, attempts, *_ = _message(app, email_id)
    assert (status, attempts) == (MessageStatus.SENT, 2)
