"""refunds.next_attempt_at: the retry job's lease on a refund whose answer was lost

Several workers may run the refunds' retry side by side on PostgreSQL. The job repeats a
refund with the gateway outside any transaction; a worker claims the refund first (FOR
UPDATE SKIP LOCKED) and moves this column a lease ahead, so another worker does not send
the same refund again meanwhile. NULL: never repeated (due once the refund is older
than the retry's cutoff). Not indexed: requested refunds are few, and the status index
finds them.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 19:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('refunds', sa.Column('next_attempt_at', sa.DateTime(timezone=True),
                                       nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('refunds') as batch_op:
        batch_op.drop_column('next_attempt_at')
