"""How a message travels: its channel and where it stands in the outbox."""
from __future__ import annotations

import enum


class MessageStatus(str, enum.Enum):
    """Where a notification is in the outbox."""

    QUEUED = "queued"  # waiting for a sender (also after a failed attempt that will retry)
    SENT = "sent"  # handed to the channel
    FAILED = "failed"  # gave up after the attempt limit


class Channel(str, enum.Enum):
    SMS = "sms"
    EMAIL = "email"
