"""Reconciliation: the bank's fee and net per line, the tariff's fee; a run by the command line

reconciliation_items: bank_fee and bank_net, the commission and the amount paid for the line
as the bank's file lists them (NULL when the file has none), and expected_fee, the fee the
profile's acquiring tariff gives for the line (NULL when there is no tariff to check by).
reconciliation_runs.staff_id may be NULL: ``python -m core reconcile`` runs as the system
(the journal says «командная строка»), like ``payouts make``.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 07:45:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reconciliation_items') as batch_op:
        batch_op.add_column(sa.Column('bank_fee', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('bank_net', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('expected_fee', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('reconciliation_runs') as batch_op:
        batch_op.alter_column('staff_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('reconciliation_runs') as batch_op:
        batch_op.alter_column('staff_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('reconciliation_items') as batch_op:
        batch_op.drop_column('expected_fee')
        batch_op.drop_column('bank_net')
        batch_op.drop_column('bank_fee')
