"""reconciliation_items: what was done about a discrepancy, and the manual pairing

resolution_kind: the decision from «Сверка»'s short list (refunded, confirmed, bank_error,
written_off, paired). Items resolved before it existed keep NULL: nobody recorded what
was done, only the comment, and the page reads NULL as «—» rather than guessing.
paired_item_id: a «нет у нас» line and a «нет в банке» payment paired by hand name each
other (the bank item also names the payment in payment_id).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 07:45:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reconciliation_items') as batch_op:
        batch_op.add_column(sa.Column('resolution_kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('paired_item_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_reconciliation_items_paired_item_id_reconciliation_items',
                                    'reconciliation_items', ['paired_item_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('reconciliation_items') as batch_op:
        batch_op.drop_constraint('fk_reconciliation_items_paired_item_id_reconciliation_items', type_='foreignkey')
        batch_op.drop_column('paired_item_id')
        batch_op.drop_column('resolution_kind')
