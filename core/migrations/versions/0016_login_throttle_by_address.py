"""login_throttles: staff failures counted per client address, and over a window

A staff login now has three counters: that login from one client address, one address
over all logins, and that login from every address together. ``client_address`` is ''
for the counters that are not per address (and for every customer counter);
``window_started_at`` is the first failure a windowed counter still counts.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 10:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('login_throttles') as batch_op:
        batch_op.add_column(sa.Column('client_address', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('window_started_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.drop_constraint('uq_login_throttles_key', type_='unique')
        batch_op.create_unique_constraint('uq_login_throttles_key',
                                          ['scope', 'login_key', 'client_address'])


def downgrade() -> None:
    # The per-address rows have no place in the old key: only the other counters survive.
    op.execute("DELETE FROM login_throttles WHERE client_address <> ''")
    with op.batch_alter_table('login_throttles') as batch_op:
        batch_op.drop_constraint('uq_login_throttles_key', type_='unique')
        batch_op.create_unique_constraint('uq_login_throttles_key', ['scope', 'login_key'])
        batch_op.drop_column('window_started_at')
        batch_op.drop_column('client_address')
