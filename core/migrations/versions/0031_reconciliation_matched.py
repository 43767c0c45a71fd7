"""reconciliation_matched: a run's matched pairs in one row; the items are discrepancies

A 1M-line run stored a million «matched» item rows (8 s of a 19.7 s run on SQLite);
``core.finance.matched_store`` keeps them as one compressed Arrow file per run instead.
The upgrade moves every old run's matched items into that row, in their stored order,
and deletes them; the index on ``paired_item_id`` lets that delete (and any later one)
find the items naming a deleted one without scanning the table for each row.
The downgrade puts the pairs back as item rows (new ids, after the discrepancies).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 19:00:00
"""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from alembic import op

from core.db.types import UTCDateTime

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

PAIR_COLUMNS = ('bank_line_no', 'payment_id', 'bank_txn_id', 'bank_rrn', 'bank_operation',
                'bank_amount', 'bank_masked_pan', 'bank_time', 'our_amount', 'our_status',
                'bank_fee', 'bank_net', 'expected_fee')
items = sa.table('reconciliation_items', sa.column('id', sa.Integer),
                 sa.column('run_id', sa.Integer), sa.column('klass', sa.String),
                 *(sa.column(name, UTCDateTime() if name == 'bank_time' else None)
                   for name in PAIR_COLUMNS))
matched = sa.table('reconciliation_matched', sa.column('run_id', sa.Integer),
                   sa.column('pairs', sa.Integer), sa.column('layout', sa.String),
                   sa.column('data', sa.LargeBinary))


def upgrade() -> None:
    op.create_table('reconciliation_matched',
                    sa.Column('run_id', sa.Integer(), nullable=False),
                    sa.Column('pairs', sa.Integer(), nullable=False),
                    sa.Column('layout', sa.String(length=20), nullable=False),
                    sa.Column('data', sa.LargeBinary(), nullable=False),
                    sa.ForeignKeyConstraint(['run_id'], ['reconciliation_runs.id'],
                                            name=op.f('fk_reconciliation_matched_run_id_reconciliation_runs')),
                    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_reconciliation_matched')))
    with op.batch_alter_table('reconciliation_items') as batch_op:
        batch_op.create_index('ix_reconciliation_items_paired', ['paired_item_id'], unique=False)
    _move_matched_items()


def _move_matched_items() -> None:
    # The store's own encoder: the stored layout is the one the application reads.
    from core.finance import matched_store

    bind = op.get_bind()
    runs = [run_id for (run_id,) in bind.execute(
        sa.select(items.c.run_id).where(items.c.klass == 'matched').distinct()
        .order_by(items.c.run_id))]
    for run_id in runs:
        rows = bind.execute(sa.select(*(items.c[name] for name in PAIR_COLUMNS))
                            .where(items.c.run_id == run_id, items.c.klass == 'matched')
                            .order_by(items.c.id)).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=list(PAIR_COLUMNS),
                             dtype=object).rename(columns={'bank_line_no': 'line_no'})
        bind.execute(matched.insert().values(run_id=run_id, pairs=len(frame),
                                             layout=matched_store.LAYOUT,
                                             data=matched_store.encode(frame)))
        bind.execute(items.delete().where(items.c.run_id == run_id,
                                          items.c.klass == 'matched'))


def downgrade() -> None:
    from core.finance import matched_store

    bind = op.get_bind()
    for run_id, data in bind.execute(sa.select(matched.c.run_id, matched.c.data)
                                     .order_by(matched.c.run_id)).all():
        pairs = [{'run_id': run_id, 'klass': 'matched', **row}
                 for row in matched_store.rows(matched_store.decode(data))]
        if pairs:
            bind.execute(items.insert(), pairs)
    with op.batch_alter_table('reconciliation_items') as batch_op:
        batch_op.drop_index('ix_reconciliation_items_paired')
    op.drop_table('reconciliation_matched')
