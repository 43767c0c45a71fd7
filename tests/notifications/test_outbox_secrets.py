"""One-time codes leave the outbox once their message is settled, and delivery is at
least once with a key that lets a channel drop the resend that follows a crash."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select, text

from core.db.engine import make_engine
from core.db.migrate import downgrade, upgrade
from core.db.models import OutboxMessage
from core.notifications import outbox
from core.notifications.channels import Channel, MessageStatus
from core.notifications.outbox import MAX_SEND_ATTEMPTS, RETRY_BACKOFF
from core.notifications.senders import LogFileSender, OutgoingMessage, RecordingSender
from core.notifications.smtp import SmtpEmailSender
from tests.factories.customers import register

CODE_TEXT = re.compile(r"Код активации личного кабинета: (\S+)\.")


def _only_message(app) -> OutboxMessage:
    with app.uow(write=False) as uow:
        return uow.session.scalars(select(OutboxMessage)).one()


def _sms_lines(app) -> list[str]:
    log = app.settings.notify_log_dir / "sms.log"
    return log.read_text("utf-8").splitlines() if log.exists() else []


def test_activation_code_that_failed_every_attempt_is_masked_in_the_outbox(app, clock):
    register(app)
    queued = _only_message(app)
    code = CODE_TEXT.search(queued.body).group(1)
    assert code.isdigit()
    gateway = RecordingSender()
    gateway.fail_with = "SMS-шлюз недоступен"
    app.senders[Channel.SMS] = gateway
    for pause in (*RETRY_BACKOFF, None):
        outbox.send_pending(app)
        if pause is not None:
            clock.advance(seconds=pause.total_seconds())

    failed = _only_message(app)
    assert (failed.status, failed.attempts) == (MessageStatus.FAILED, MAX_SEND_ATTEMPTS)
    assert failed.body == failed.redacted_body == \
        "Код активации личного кабинета: ****. Никому не сообщайте этот код."
    assert code not in failed.body and failed.last_error == "SMS-шлюз недоступен"


def test_a_message_failing_but_still_retried_keeps_its_code_to_send(app, clock):
    register(app)
    gateway = RecordingSender()
    gateway.fail_with = "SMS-шлюз недоступен"
    app.senders[Channel.SMS] = gateway
    outbox.send_pending(app)
    retrying = _only_message(app)
    assert retrying.status is MessageStatus.QUEUED
    assert CODE_TEXT.search(retrying.body).group(1).isdigit()


def test_a_resend_after_a_crash_reaches_the_phone_once(app, clock):
    register(app)
    message_id = _only_message(app).id
    claimed = outbox._claim(app, message_id)
    app.senders[Channel.SMS].send(claimed)  # delivered; then kill -9 before settling
    clock.advance(seconds=outbox.SEND_LEASE.total_seconds() + 1)
    # The restarted worker has a sender of its own that reads the sink afresh.
    app.senders[Channel.SMS] = LogFileSender(app.settings.notify_log_dir / "sms.log", clock.now)
    assert outbox.send_pending(app).sent == 1

    lines = _sms_lines(app)
    assert len(lines) == 1 and claimed.idempotency_key in lines[0]
    assert _only_message(app).status is MessageStatus.SENT


def test_every_attempt_at_a_message_carries_the_same_key(app, clock):
    register(app)
    message_id = _only_message(app).id
    first = outbox._claim(app, message_id)
    clock.advance(seconds=outbox.SEND_LEASE.total_seconds() + 1)
    second = outbox._claim(app, message_id)
    assert first.idempotency_key == second.idempotency_key
    assert first.idempotency_key.startswith(f"outbox-{message_id}-")


def test_keys_of_different_messages_differ():
    at = datetime(2026, 12, 2, 18, 0)
    keys = {OutgoingMessage(7, "sms", "+79991234567", None, "x", at).idempotency_key,
            OutgoingMessage(8, "sms", "+79991234567", None, "x", at).idempotency_key,
            OutgoingMessage(7, "sms", "+79991234567", None, "x",
                            datetime(2026, 12, 3, 9, 0)).idempotency_key}
    assert len(keys) == 3


def test_the_email_message_id_is_the_key_and_the_same_on_every_attempt():
    sender = SmtpEmailSender("localhost", 25, None, None, "ЖКХ-кабинет <noreply@example.ru>")
    message = OutgoingMessage(7, "email", "ivan@example.ru", "Тема", "Текст",
                              datetime(2026, 12, 2, 18, 0, 5))
    ids = {sender.build(message)["Message-ID"] for _ in range(3)}
    assert ids == {"<outbox-7-20261202180005@example.ru>"}


def test_the_migration_masks_codes_left_in_messages_settled_before(db_url):
    engine = make_engine(db_url)
    downgrade(engine, "0014")
    clear, masked = "Код активации личного кабинета: 4821.", "Код активации личного кабинета: ****."
    rows = [("failed", clear, masked), ("sent", clear, masked), ("queued", clear, masked),
            ("failed", "Счёт за ноябрь: 1 234,56 ₽", None)]
    with engine.begin() as conn:
        for status, body, redacted in rows:
            conn.execute(text(
                "INSERT INTO outbox_messages (channel, topic, recipient, body, redacted_body, "
                "status, attempts, created_at, next_attempt_at) VALUES ('sms', 'activation', "
                "'+79991234567', :body, :redacted, :status, 5, :at, :at)"),
                {"body": body, "redacted": redacted, "status": status,
                 "at": datetime(2026, 12, 2, 18, 0)})
    upgrade(engine)
    with engine.connect() as conn:
        bodies = conn.execute(text("SELECT status, body FROM outbox_messages ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in bodies] == [
        ("failed", masked), ("sent", masked), ("queued", clear),  # still to be sent
        ("failed", "Счёт за ноябрь: 1 234,56 ₽")]
