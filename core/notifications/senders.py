"""Senders that deliver outbox messages. A sender raises ``SendFailed`` to retry later.

The default sinks append to log files (``data/sms.log``, ``data/email.log``):
the SMS file stands in for the customer's phone, so it is the one place an
activation code appears in clear.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


class SendFailed(Exception):
    """The channel did not take the message; the outbox will retry."""


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: int
    channel: str
    recipient: str
    subject: str | None
    body: str


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None: ...


class LogFileSender:
    _lock = threading.Lock()

    def __init__(self, path: Path, clock_now: "callable[[], datetime]") -> None:  # type: ignore[valid-type]
        self.path = path
        self._now = clock_now

    def send(self, message: OutgoingMessage) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        subject = f" [{message.subject}]" if message.subject else ""
        line = (f"{self._now().isoformat(timespec='seconds')} #{message.message_id} "
                f"-> {message.recipient}{subject}: {message.body}\n")
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)


class RecordingSender:
    """Test double: keeps what it was given; can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.fail_with: str | None = None

    def send(self, message: OutgoingMessage) -> None:
        if self.fail_with:
            raise SendFailed(self.fail_with)
        self.sent.append(message)
