"""customer_sessions.handover_until: «Смотреть как клиент» opens by a one-time link

The back office hands the cabinet a one-time ticket in a link, not the session's token:
the row waits with the ticket's digest until the cabinet redeems it (once, before
``handover_until``) and only then gets the token it will live by. A link left in the
browser's history or a proxy's log opens nothing.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 22:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer_sessions') as batch_op:
        batch_op.add_column(sa.Column('handover_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customer_sessions') as batch_op:
        batch_op.drop_column('handover_until')
