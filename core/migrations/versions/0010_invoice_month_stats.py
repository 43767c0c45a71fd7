"""invoice month stats: the analytics' snapshot of invoices by month, provider and outcome

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 07:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'invoice_month_stats',
        sa.Column('period', sa.Date(), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=False),
        sa.Column('klass', sa.String(length=10), nullable=False),
        sa.Column('invoices', sa.Integer(), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['provider_id'], ['providers.id'],
                                name=op.f('fk_invoice_month_stats_provider_id_providers')),
        sa.PrimaryKeyConstraint('period', 'provider_id', 'klass',
                                name=op.f('pk_invoice_month_stats')),
    )


def downgrade() -> None:
    op.drop_table('invoice_month_stats')
