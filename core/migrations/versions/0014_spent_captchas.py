"""spent_captchas: a solved captcha registers one cabinet

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 19:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'spent_captchas',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('spent_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_spent_captchas')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_spent_captchas_key_hash')),
    )
    op.create_index(op.f('ix_spent_captchas_spent_at'), 'spent_captchas', ['spent_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_spent_captchas_spent_at'), table_name='spent_captchas')
    op.drop_table('spent_captchas')
