"""indexes for payouts and reconciliation; one reconciliation run per file

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 04:45:39.405539
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_finalized', ['finalized_at'], unique=False)

    with op.batch_alter_table('reconciliation_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_runs_file'))
        batch_op.create_index('ix_reconciliation_runs_file', ['file_sha256'], unique=True)

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_status_completed', ['status', 'completed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_status_completed')

    with op.batch_alter_table('reconciliation_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_reconciliation_runs_file')
        batch_op.create_index(batch_op.f('ix_reconciliation_runs_file'), ['file_sha256'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_finalized')

