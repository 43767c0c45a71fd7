"""payment_daily_stats.shard: a successful payments' rollup key spread over 16 rows

Every confirmation upserts its day's rollup row early in its transaction and holds that
row's lock until the commit, so all confirmations of a provider's day queued on one row
(on PostgreSQL with 4 payers: 165 lock waits over 20 ms in a benchmark run, up to 415 ms).
The shard (a successful payment's id modulo 16; 0 for refusals) joins the primary key:
payments confirmed at once add to different rows. The rows already there become shard 0, with their sums as they
were; the downgrade folds the shards of each key back into one row.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 19:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

_KEY = ['day', 'provider_id', 'outcome', 'decline_code', 'saved_card']


def upgrade() -> None:
    with op.batch_alter_table('payment_daily_stats') as batch_op:
        batch_op.add_column(sa.Column('shard', sa.SmallInteger(), server_default='0',
                                      nullable=False))
        batch_op.drop_constraint('pk_payment_daily_stats', type_='primary')
        batch_op.create_primary_key('pk_payment_daily_stats', [*_KEY, 'shard'])


def downgrade() -> None:
    key = ', '.join(_KEY)
    # The sums per key go in as shard -1 (free under the sharded key), then replace the
    # shards they were summed from.
    op.execute(f"INSERT INTO payment_daily_stats ({key}, shard, payments, amount, "
               f"commission, refunded) SELECT {key}, -1, SUM(payments), SUM(amount), "
               f"SUM(commission), SUM(refunded) FROM payment_daily_stats GROUP BY {key}")
    op.execute("DELETE FROM payment_daily_stats WHERE shard <> -1")
    with op.batch_alter_table('payment_daily_stats') as batch_op:
        batch_op.drop_constraint('pk_payment_daily_stats', type_='primary')
        batch_op.create_primary_key('pk_payment_daily_stats', _KEY)
        batch_op.drop_column('shard')
