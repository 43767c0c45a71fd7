"""The SMTP e-mail sender against a real SMTP server (aiosmtpd on 127.0.0.1)."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.notifications.senders import OutgoingMessage, SendFailed
from core.notifications.smtp import SmtpEmailSender
from core.app import build_app
from core.config import FAST_HASHING, Settings, SmtpSettings, load_smtp_settings
from core.notifications.channels import Channel, MessageStatus
from core.db.models import OutboxMessage
from core.notifications import outbox
from core.notifications.outbox import MAX_SEND_ATTEMPTS, RETRY_BACKOFF
from tests.conftest import TEST_SECRETS

REFUSED = "nobody@example.ru"
USER, PASSWORD = "robot@example.ru", "s3cret-pass-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps what arrives, refuses one address."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp_server(inbox: Inbox) -> Iterator[tuple[str, int]]:
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield "127.0.0.1", controller.port
    controller.stop()


@pytest.fixture
def auth_server(inbox: Inbox) -> Iterator[tuple[str, int]]:
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(),
                            authenticator=_authenticator, auth_require_tls=False)
    controller.start()
    yield "127.0.0.1", controller.port
    controller.stop()


def _sender(host: str, port: int, **kw: object) -> SmtpEmailSender:
    options: dict[str, object] = dict(user=None, password=None,
                                      sender_address="ЖКХ-кабинет <noreply@example.ru>",
                                      timeout=5.0)
    options.update(kw)
    return SmtpEmailSender(host, port, **options)  # type: ignore[arg-type]


MESSAGE = OutgoingMessage(7, "email", "ivan@example.ru", "Новый счёт: АО «Мосводоканал»",
                          "Здравствуйте!\n\nСумма к оплате: 1\u00a0234,56\u00a0₽\n"
                          "Оплатить до: 25.12.2026")


def test_message_arrives_with_recipient_subject_and_cyrillic_body(smtp_server, inbox):
    _sender(*smtp_server).send(MESSAGE)
    [(mail_from, recipients, email)] = inbox.messages
    assert (mail_from, recipients) == ("noreply@example.ru", ["ivan@example.ru"])
    assert email["To"] == "ivan@example.ru"
    assert email["From"] == "ЖКХ-кабинет <noreply@example.ru>"
    assert email["Subject"] == "Новый счёт: АО «Мосводоканал»"
    assert email.get_content_type() == "text/plain"
    assert email.get_content_charset() == "utf-8"
    assert email.get_content().replace("\r\n", "\n").rstrip("\n") == MESSAGE.body
    assert "outbox-7" in email["Message-ID"] and email["Date"]


def test_login_with_the_right_password_delivers(auth_server, inbox):
    _sender(*auth_server, user=USER, password=PASSWORD).send(MESSAGE)
    assert len(inbox.messages) == 1


def test_wrong_password_is_a_send_failure_that_keeps_the_secret(auth_server, inbox):
    with pytest.raises(SendFailed) as error:
        _sender(*auth_server, user=USER, password="wrong-password").send(MESSAGE)
    text = str(error.value)
    assert text.startswith(f"SMTP-сервер 127.0.0.1:{auth_server[1]} не принял логин или пароль")
    assert "wrong-password" not in text and USER not in text
    assert inbox.messages == []


def test_password_smtplib_cannot_send_is_a_send_failure(auth_server, inbox):
    """smtplib sends logins as ASCII: anything else must not crash the sender loop."""
    with pytest.raises(SendFailed) as error:
        _sender(*auth_server, user=USER, password="пароль").send(MESSAGE)
    assert "только латинские буквы" in str(error.value) and "пароль" not in str(error.value)


def test_refused_recipient_is_a_send_failure(smtp_server, inbox):
    refused = OutgoingMessage(8, "email", REFUSED, "Тема", "Текст")
    with pytest.raises(SendFailed) as error:
        _sender(*smtp_server).send(refused)
    assert str(error.value) == (f"SMTP-сервер 127.0.0.1:{smtp_server[1]} отклонил адрес "
                                "получателя (код 550)")
    assert inbox.messages == []


def test_closed_port_is_a_send_failure():
    port = _free_port()
    with pytest.raises(SendFailed) as error:
        _sender("127.0.0.1", port).send(MESSAGE)
    assert str(error.value) == f"SMTP-сервер 127.0.0.1:{port} недоступен: соединение отклонено"


def test_silent_server_times_out_as_a_send_failure():
    with socket.socket() as listener:  # accepts the connection, never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with pytest.raises(SendFailed) as error:
            _sender("127.0.0.1", port, timeout=0.3).send(MESSAGE)
    assert str(error.value) == f"SMTP-сервер 127.0.0.1:{port} не ответил за 0.3 с"


def test_sender_and_settings_never_show_the_password():
    sender = _sender("smtp.example.ru", 587, user=USER, password=PASSWORD, use_tls=True)
    settings = SmtpSettings("smtp.example.ru", 587, USER, PASSWORD)
    assert PASSWORD not in repr(sender) and PASSWORD not in repr(settings)
    with pytest.raises(ValueError):
        _sender("smtp.example.ru", 587, use_tls=True, use_ssl=True)


# --- wiring and the outbox ------------------------------------------------------------

@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"SMTP_HOST": "smtp.example.ru"},
     SmtpSettings("smtp.example.ru", 25, None, None, "noreply@localhost", False, False, 10.0)),
    ({"SMTP_HOST": "smtp.example.ru", "SMTP_TLS": "true", "SMTP_USER": USER,
      "SMTP_PASSWORD": PASSWORD, "SMTP_FROM": "Кабинет <robot@example.ru>", "SMTP_TIMEOUT": "3"},
     SmtpSettings("smtp.example.ru", 587, USER, PASSWORD, "Кабинет <robot@example.ru>", True,
                  False, 3.0)),
    ({"SMTP_HOST": "smtp.example.ru", "SMTP_SSL": "1"},
     SmtpSettings("smtp.example.ru", 465, None, None, "noreply@localhost", False, True, 10.0)),
    ({"SMTP_HOST": "smtp.example.ru", "SMTP_SSL": "yes", "SMTP_PORT": "2465"},
     SmtpSettings("smtp.example.ru", 2465, None, None, "noreply@localhost", False, True, 10.0)),
])
def test_smtp_settings_from_the_environment(monkeypatch, env, expected):
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM",
                 "SMTP_TLS", "SMTP_SSL", "SMTP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert load_smtp_settings() == expected


def test_tls_and_ssl_together_are_refused(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "smtp.example.ru")
    monkeypatch.setenv("SMTP_TLS", "1")
    monkeypatch.setenv("SMTP_SSL", "1")
    with pytest.raises(ValueError, match="SMTP_TLS and SMTP_SSL"):
        load_smtp_settings()


def test_app_sends_email_over_smtp_when_configured(tmp_path, db_url, clock, smtp_server, inbox):
    host, port = smtp_server
    settings = Settings(database_url=db_url, secrets_file=tmp_path / "secrets.toml",
                        notify_log_dir=tmp_path / "notify", hashing=FAST_HASHING,
                        smtp=SmtpSettings(host, port, None, None, "noreply@example.ru"))
    app = build_app(settings, clock=clock, secrets=TEST_SECRETS)
    try:
        assert isinstance(app.senders[Channel.EMAIL], SmtpEmailSender)
        message_id = _enqueue(app, "ivan@example.ru")
        assert outbox.send_pending(app).sent == 1
        assert [r for _, r, _ in inbox.messages] == [["ivan@example.ru"]]
        assert _state(app, message_id)[0] is MessageStatus.SENT
        plain = build_app(Settings(database_url=db_url, secrets_file=tmp_path / "s.toml",
                                   notify_log_dir=tmp_path / "notify"), clock=clock,
                          secrets=TEST_SECRETS, engine=app.engine)
        assert not isinstance(plain.senders[Channel.EMAIL], SmtpEmailSender)
    finally:
        app.engine.dispose()


def _enqueue(app, recipient: str) -> int:  # type: ignore[no-untyped-def]
    with app.uow() as uow:
        message = outbox.enqueue(uow.session, now=app.now(), customer_id=None,
                                 channel=Channel.EMAIL, topic="news", recipient=recipient,
                                 subject="Новости сервиса", body="Оплата без комиссии")
        uow.commit()
        return message.id


def _state(app, message_id: int):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        m = uow.session.get(OutboxMessage, message_id)
        return m.status, m.attempts, m.next_attempt_at, m.last_error


def test_outbox_retries_a_closed_port_with_backoff_then_gives_up(app, clock):
    port = _free_port()
    app.senders[Channel.EMAIL] = _sender("127.0.0.1", port, timeout=2.0)
    message_id = _enqueue(app, "ivan@example.ru")
    error = f"SMTP-сервер 127.0.0.1:{port} недоступен: соединение отклонено"
    for attempt, pause in enumerate(RETRY_BACKOFF, start=1):
        assert outbox.send_pending(app).retrying == 1
        assert _state(app, message_id) == (MessageStatus.QUEUED, attempt, clock.now() + pause,
                                           error)
        clock.advance(seconds=pause.total_seconds())
    assert outbox.send_pending(app).failed == 1
    assert _state(app, message_id)[:2] == (MessageStatus.FAILED, MAX_SEND_ATTEMPTS)
    clock.advance(days=1)
    assert outbox.send_pending(app) == outbox.SendReport(0, 0, 0)


def test_refused_recipient_retries_while_others_are_delivered(app, clock, smtp_server, inbox):
    app.senders[Channel.EMAIL] = _sender(*smtp_server)
    refused = _enqueue(app, REFUSED)
    delivered = _enqueue(app, "ivan@example.ru")
    report = outbox.send_pending(app)
    assert (report.sent, report.retrying) == (1, 1)
    assert _state(app, delivered)[0] is MessageStatus.SENT
    status, attempts, next_at, error = _state(app, refused)
    assert (status, attempts, next_at) == (MessageStatus.QUEUED, 1, clock.now() + RETRY_BACKOFF[0])
    assert "отклонил адрес получателя (код 550)" in error
    assert [r for _, r, _ in inbox.messages] == [["ivan@example.ru"]]
