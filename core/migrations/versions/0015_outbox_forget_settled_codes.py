"""outbox_messages: settled messages keep no one-time code in clear

A message that failed all its attempts used to keep the clear code in ``body``; the
outbox now replaces it by ``redacted_body`` once a message is sent or given up on.
This does the same for the rows settled before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 19:30:00
"""
from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE outbox_messages SET body = redacted_body "
               "WHERE status <> 'queued' AND redacted_body IS NOT NULL "
               "AND body <> redacted_body")


def downgrade() -> None:
    pass  # the clear codes are gone for good, as they should be
