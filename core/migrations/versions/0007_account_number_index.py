"""provider accounts: an index on the number alone, for the customer search

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 04:22:32.700423
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('provider_accounts', schema=None) as batch_op:
        batch_op.create_index('ix_provider_accounts_number_only', ['number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('provider_accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_provider_accounts_number_only')

