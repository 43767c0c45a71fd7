"""code_word_checks: the block a check was made for

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 18:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Earlier checks stay NULL: bound to no block, they unblock nothing (they were valid
    # for 15 minutes anyway).
    with op.batch_alter_table('code_word_checks') as batch_op:
        batch_op.add_column(sa.Column('cabinet_block_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_code_word_checks_cabinet_block_id_cabinet_blocks',
                                    'cabinet_blocks', ['cabinet_block_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('code_word_checks') as batch_op:
        batch_op.drop_constraint('fk_code_word_checks_cabinet_block_id_cabinet_blocks',
                                 type_='foreignkey')
        batch_op.drop_column('cabinet_block_id')
