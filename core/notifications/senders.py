"""Senders that deliver outbox messages. A sender raises ``SendFailed`` to retry later.

The default sinks append to log files (``data/sms.log``, ``data/email.log``, mode 0600):
the SMS file stands in for the customer's phone, so it is the one place an
activation code appears in clear.

Delivery is at least once: a worker killed after a sender took a message but before
the outbox recorded it sends that message again after the claim's lease. Each
message therefore carries an idempotency key, the same on every attempt; a sender
whose channel can deduplicate passes it on (SMTP: the Message-ID; an SMS gateway:
its client message id), and the log sinks skip a key they have already written.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from core.files import private


class SendFailed(Exception):
    """The channel did not take the message; the outbox will retry."""


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    created_at: datetime | None = None  # when it was queued: part of the key

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt at this message, different for any other message
        (the queuing time keeps two databases' message 7 apart)."""
        queued = f"-{self.created_at:%Y%m%d%H%M%S}" if self.created_at else ""
        return f"outbox-{self.message_id}{queued}"


class Sender(Protocol):
    """Hands one message to its channel; may be called again for the same message
    (``message.idempotency_key`` tells), and raises ``SendFailed`` to be retried."""

    def send(self, message: OutgoingMessage) -> None: ...


class LogFileSender:
    _lock = threading.Lock()

    def __init__(self, path: Path, clock_now: "callable[[], datetime]") -> None:  # type: ignore[valid-type]
        self.path = path
        self._now = clock_now
        self._written: set[str] | None = None  # keys in the file, read at the first send

    def send(self, message: OutgoingMessage) -> None:
        key = message.idempotency_key
        subject = f" [{message.subject}]" if message.subject else ""
        line = (f"{self._now().isoformat(timespec='seconds')} #{message.message_id} {key} "
                f"-> {message.recipient}{subject}: {message.body}\n")
        with self._lock:
            written = self._keys()
            if key in written:
                return  # a resend after a crash: the "phone" has it already
            with private.open_append(self.path) as handle:
                handle.write(line)
            written.add(key)

    def _keys(self) -> set[str]:
        if self._written is None:
            private.narrow_and_warn(self.path)
            self._written = set()
            if self.path.exists():
                with self.path.open(encoding="utf-8", errors="replace") as handle:
                    self._written = {match.group(1) for match in map(_KEY.search, handle)
                                     if match}
        return self._written


_KEY = re.compile(r"^\S+ #\d+ (outbox-[\d-]+) -> ")
# One message's first line, as ``LogFileSender.send`` writes it; a body's further lines follow.
_ENTRY = re.compile(r"^(?P<at>\d{4}-\d\d-\d\dT\S+) #(?P<id>\d+) outbox-[\d-]+ -> "
                    r"(?P<to>\S+?)(?: \[(?P<subject>[^\]\n]*)\])?: (?P<body>.*)$")


@dataclass(frozen=True)
class LoggedMessage:
    """One message as a log-file sink holds it."""

    sent_at: datetime
    message_id: int
    recipient: str
    subject: str | None
    body: str


def read_log_file(path: Path) -> list[LoggedMessage]:
    """Every message a ``LogFileSender`` wrote to ``path``, in the order written (the demo's
    «phone» and mailbox); a missing file holds none."""
    if not path.exists():
        return []
    found: list[LoggedMessage] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            entry = _ENTRY.match(line)
            if entry is None:
                if found:  # a line of a multi-line body (an e-mail)
                    last = found[-1]
                    found[-1] = LoggedMessage(last.sent_at, last.message_id, last.recipient,
                                              last.subject, f"{last.body}\n{line}")
                continue
            try:
                sent_at = datetime.fromisoformat(entry["at"])
            except ValueError:
                continue
            found.append(LoggedMessage(sent_at, int(entry["id"]), entry["to"],
                                       entry["subject"], entry["body"]))
    return found


class RecordingSender:
    """Test double: keeps what it was given; can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.fail_with: str | None = None

    def send(self, message: OutgoingMessage) -> None:
        if self.fail_with:
            raise SendFailed(self.fail_with)
        self.sent.append(message)
