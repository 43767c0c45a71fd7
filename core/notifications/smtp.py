"""The real e-mail sender: SMTP with smtplib, UTF-8 subject and body.

One connection per message: the outbox sends one message per transaction and
retries failures itself, so a long-lived connection would only add a state to
go stale. Every failure becomes ``SendFailed`` with a Russian message that
names the server and the SMTP code but never the login or password.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from core.notifications.senders import OutgoingMessage, SendFailed


class SmtpEmailSender:
    def __init__(self, host: str, port: int, user: str | None, password: str | None,
                 sender_address: str, use_tls: bool = False, use_ssl: bool = False,
                 timeout: float = 10.0) -> None:
        if use_tls and use_ssl:
            raise ValueError("SMTP: choose STARTTLS or SSL, not both")
        self.host, self.port = host, port
        self._user, self._password = user or None, password or None
        self.sender_address = sender_address
        self.use_tls, self.use_ssl, self.timeout = use_tls, use_ssl, timeout

    def __repr__(self) -> str:  # no credentials in logs or tracebacks
        return f"SmtpEmailSender({self.host}:{self.port}, from={self.sender_address})"

    def build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender_address
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(usegmt=True)
        # The same on every attempt, so a server or mailbox that drops duplicate
        # Message-IDs drops the resend that follows a worker's crash.
        email["Message-ID"] = f"<{message.idempotency_key}@{self._domain()}>"
        email.set_content(message.body, charset="utf-8")
        return email

    def _domain(self) -> str:
        _, address = parseaddr(self.sender_address)
        domain = address.rpartition("@")[2].strip().strip("[]")
        return domain if domain and all(c.isalnum() or c in ".-" for c in domain) \
            else "localhost"

    def send(self, message: OutgoingMessage) -> None:
        try:
            email = self.build(message)
        except (ValueError, TypeError) as error:
            raise SendFailed(f"Письмо не удалось составить: {type(error).__name__}") from None
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as smtp:
                if self.use_tls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._user:
                    smtp.login(self._user, self._password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _ in error.recipients.values()})
            raise SendFailed(f"SMTP-сервер {where} отклонил адрес получателя "
                             f"(код {', '.join(map(str, codes))})") from None
        except smtplib.SMTPAuthenticationError as error:
            raise SendFailed(f"SMTP-сервер {where} не принял логин или пароль "
                             f"(код {error.smtp_code})") from None
        except smtplib.SMTPSenderRefused as error:
            raise SendFailed(f"SMTP-сервер {where} отклонил адрес отправителя "
                             f"(код {error.smtp_code})") from None
        except smtplib.SMTPResponseException as error:
            raise SendFailed(f"SMTP-сервер {where} не принял письмо "
                             f"(код {error.smtp_code})") from None
        except smtplib.SMTPServerDisconnected as error:
            if "timed out" in str(error):  # smtplib reports a read timeout this way
                raise SendFailed(f"SMTP-сервер {where} не ответил за {self.timeout:g} с") \
                    from None
            raise SendFailed(f"SMTP-сервер {where} разорвал соединение") from None
        except smtplib.SMTPException as error:
            raise SendFailed(f"Ошибка SMTP при отправке через {where}: "
                             f"{type(error).__name__}") from None
        except UnicodeError:
            # smtplib's AUTH sends the login and password as ASCII only.
            raise SendFailed(f"SMTP-сервер {where}: в логине и пароле SMTP допустимы только "
                             "латинские буквы, цифры и знаки ASCII") from None
        except ssl.SSLError:
            raise SendFailed(f"SMTP-сервер {where}: ошибка TLS-соединения") from None
        except TimeoutError:
            raise SendFailed(f"SMTP-сервер {where} не ответил за {self.timeout:g} с") from None
        except ConnectionRefusedError:
            raise SendFailed(f"SMTP-сервер {where} недоступен: соединение отклонено") from None
        except OSError as error:
            raise SendFailed(f"SMTP-сервер {where} недоступен: "
                             f"{error.strerror or type(error).__name__}") from None

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)
