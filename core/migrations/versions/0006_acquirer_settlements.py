"""acquirer settlements: each day of the acquirer's registry booked once

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 04:11:46.444999
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('acquirer_settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('payments_total', sa.Integer(), nullable=False),
    sa.Column('refunds_total', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('journal_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journal_id'], ['ledger_journals.id'], name=op.f('fk_acquirer_settlements_journal_id_ledger_journals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acquirer_settlements')),
    sa.UniqueConstraint('day', name=op.f('uq_acquirer_settlements_day'))
    )


def downgrade() -> None:
    op.drop_table('acquirer_settlements')
