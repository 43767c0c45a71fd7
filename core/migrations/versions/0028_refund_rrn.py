"""refunds.rrn: the refund's own retrieval reference number, as the acquirer answered it

A bank's own registry without our transaction id lists a refund under the refund's RRN
(not the payment's); without it stored, reconciliation could pair such a line only by the
card and the amount. Nullable: refunds made before it, and the ones the bank has not
answered yet, have none. Not indexed: reconciliation reads refunds by their time and
their payment, and pairs by the RRN in memory.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 08:40:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('refunds', sa.Column('rrn', sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('refunds') as batch_op:
        batch_op.drop_column('rrn')
