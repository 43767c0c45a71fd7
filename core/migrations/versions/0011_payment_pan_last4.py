"""payments: the card's last four digits as a computed, indexed column

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 07:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

from core.db.models import PAN_LAST4_SQL

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    column = sa.Column('pan_last4', sa.String(length=4),
                       sa.Computed(PAN_LAST4_SQL, persisted=True), nullable=True)
    # SQLite adds only virtual generated columns in place: the table is rebuilt.
    with op.batch_alter_table('payments', recreate='auto') as batch_op:
        batch_op.add_column(column)
        batch_op.create_index('ix_payments_pan_last4', ['pan_last4', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_index('ix_payments_pan_last4')
        batch_op.drop_column('pan_last4')
