"""cabinet_blocks(lifted_at, blocked_at): «Заблокированные кабинеты» reads the open blocks
newest first, one page at a time, through this index instead of every block ever made

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 05:50:00
"""
from __future__ import annotations

from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cabinet_blocks_open_newest', 'cabinet_blocks',
                    ['lifted_at', 'blocked_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cabinet_blocks_open_newest', table_name='cabinet_blocks')
