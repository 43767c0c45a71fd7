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
    # SQLite adds a generated column in place only if it is VIRTUAL (STORED would mean
    # rebuilding the table, a copy of every payment under foreign keys); the index keeps
    # the values anyway. PostgreSQL 15 knows only STORED.
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column('payments', sa.Column('pan_last4', sa.String(length=4),
                                        sa.Computed(PAN_LAST4_SQL, persisted=not sqlite),
                                        nullable=True))
    op.create_index('ix_payments_pan_last4', 'payments', ['pan_last4', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_payments_pan_last4', table_name='payments')
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_column('pan_last4')
