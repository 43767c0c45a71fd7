"""The demo's «phone» and mailbox, for the cabinet's panel «Демо: SMS и письма»: a visitor
of the demo has no phone that gets our SMS, so the cabinet shows them what the log-file
sinks (``data/sms.log``, ``data/email.log``) hold for their own phone and e-mail.

Demo mode is the database's, not a switch: the demo's staff logins still open it (their
passwords are in the README, so nothing it holds is private) and the messages go to the
log-file sinks. Exactly then ``python -m core serve`` refuses to start, so an operator's
start never shows anyone's codes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.app import App
from core.customers.rules import try_normalize_phone
from core.demo.guard import working_demo_logins
from core.notifications.channels import Channel
from core.notifications.senders import LogFileSender, read_log_file

# What the panel shows at most: the newest messages.
NEWEST = 20


@dataclass(frozen=True)
class DemoMessage:
    channel: Channel
    sent_at: datetime
    recipient: str
    subject: str | None
    body: str


def _log_sinks(app: App) -> dict[Channel, LogFileSender]:
    return {channel: sender for channel, sender in app.senders.items()
            if isinstance(sender, LogFileSender)}


def demo_mode(app: App) -> bool:
    """True when the database is the demo's and its SMS go to the log file."""
    return Channel.SMS in _log_sinks(app) and bool(working_demo_logins(app))


def messages_to(app: App, *, phone: str | None = None, email: str | None = None,
                newest: int = NEWEST) -> list[DemoMessage]:
    """The SMS to ``phone`` (any common format) and the e-mails to ``email`` that the
    log-file sinks hold, newest first; nothing outside demo mode."""
    if not demo_mode(app):
        return []
    wanted = {Channel.SMS: try_normalize_phone(phone or ""),
              Channel.EMAIL: (email or "").strip().lower() or None}
    found = [DemoMessage(channel, m.sent_at, m.recipient, m.subject, m.body)
             for channel, sender in _log_sinks(app).items() if wanted.get(channel)
             for m in read_log_file(sender.path)
             if m.recipient.lower() == wanted[channel].lower()]  # type: ignore[union-attr]
    found.sort(key=lambda m: m.sent_at, reverse=True)
    return found[:newest]
