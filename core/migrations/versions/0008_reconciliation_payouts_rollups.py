"""reconciliation runs and items, payouts, daily payment rollups, refund review comment

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 04:31:29.361622
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_daily_stats',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('decline_code', sa.String(length=30), nullable=False),
    sa.Column('saved_card', sa.Boolean(), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('commission', sa.BigInteger(), nullable=False),
    sa.Column('refunded', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_payment_daily_stats_provider_id_providers')),
    sa.PrimaryKeyConstraint('day', 'provider_id', 'outcome', 'decline_code', 'saved_card', name=op.f('pk_payment_daily_stats'))
    )
    op.create_table('reconciliation_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('bank_lines', sa.Integer(), nullable=False),
    sa.Column('bank_total', sa.BigInteger(), nullable=False),
    sa.Column('our_payments', sa.Integer(), nullable=False),
    sa.Column('our_total', sa.BigInteger(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_reconciliation_runs_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_runs'))
    )
    with op.batch_alter_table('reconciliation_runs', schema=None) as batch_op:
        batch_op.create_index('ix_reconciliation_runs_created', ['created_at'], unique=False)
        batch_op.create_index('ix_reconciliation_runs_file', ['file_sha256'], unique=False)

    op.create_table('reconciliation_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('klass', sa.String(length=20), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('bank_line_no', sa.Integer(), nullable=True),
    sa.Column('bank_txn_id', sa.String(length=64), nullable=True),
    sa.Column('bank_rrn', sa.String(length=12), nullable=True),
    sa.Column('bank_operation', sa.String(length=10), nullable=True),
    sa.Column('bank_amount', sa.BigInteger(), nullable=True),
    sa.Column('bank_masked_pan', sa.String(length=19), nullable=True),
    sa.Column('bank_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('our_amount', sa.BigInteger(), nullable=True),
    sa.Column('our_status', sa.String(length=20), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('resolution_comment', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_reconciliation_items_payment_id_payments')),
    sa.ForeignKeyConstraint(['resolved_by_staff_id'], ['staff_users.id'], name=op.f('fk_reconciliation_items_resolved_by_staff_id_staff_users')),
    sa.ForeignKeyConstraint(['run_id'], ['reconciliation_runs.id'], name=op.f('fk_reconciliation_items_run_id_reconciliation_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_items'))
    )
    with op.batch_alter_table('reconciliation_items', schema=None) as batch_op:
        batch_op.create_index('ix_reconciliation_items_run', ['run_id', 'klass'], unique=False)

    op.create_table('payouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('payments_count', sa.Integer(), nullable=False),
    sa.Column('payments_total', sa.BigInteger(), nullable=False),
    sa.Column('refunds_total', sa.BigInteger(), nullable=False),
    sa.Column('commission_total', sa.BigInteger(), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('journal_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journal_id'], ['ledger_journals.id'], name=op.f('fk_payouts_journal_id_ledger_journals')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_payouts_provider_id_providers')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_payouts_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payouts')),
    sa.UniqueConstraint('provider_id', 'day', name='uq_payouts_provider_day')
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_comment', sa.String(length=500), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('review_comment')

    op.drop_table('payouts')
    with op.batch_alter_table('reconciliation_items', schema=None) as batch_op:
        batch_op.drop_index('ix_reconciliation_items_run')

    op.drop_table('reconciliation_items')
    with op.batch_alter_table('reconciliation_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_reconciliation_runs_file')
        batch_op.drop_index('ix_reconciliation_runs_created')

    op.drop_table('reconciliation_runs')
    op.drop_table('payment_daily_stats')
