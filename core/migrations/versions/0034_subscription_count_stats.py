"""subscription_count_stats: the worker's rollup of active cabinets per subscription cell

«Подписки и рассылки» counted every active cabinet's subscriptions on each new staff
session (two aggregates over 200,000 cabinets: about 0.4 s of SQL, 3 s to the first
figure in a browser). The worker now counts them once a minute into these six rows
(topic x channel), and the page reads them with the moment they were counted. Empty
after the upgrade: readers count live until the worker's first refresh.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 22:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'subscription_count_stats',
        sa.Column('topic', sa.String(length=30), nullable=False),
        sa.Column('channel', sa.Enum('sms', 'email', name='channel', native_enum=False,
                                     length=10), nullable=False),
        sa.Column('subscribed', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('topic', 'channel', name=op.f('pk_subscription_count_stats')),
    )


def downgrade() -> None:
    op.drop_table('subscription_count_stats')
