"""customer_sessions.viewer_staff_id: «Смотреть как клиент» sessions

A staff member opening a customer's cabinet from the back office gets a session of that
cabinet marked with who is looking; the use cases that only read accept it, every other
one refuses it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 12:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer_sessions') as batch_op:
        batch_op.add_column(sa.Column('viewer_staff_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_customer_sessions_viewer_staff_id_staff_users',
                                    'staff_users', ['viewer_staff_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('customer_sessions') as batch_op:
        batch_op.drop_constraint('fk_customer_sessions_viewer_staff_id_staff_users',
                                 type_='foreignkey')
        batch_op.drop_column('viewer_staff_id')
