"""invoices: the period index carries the id, the staff list's second sort key

«Счета» lists invoices newest period first, then by id (``ORDER BY period DESC, id
DESC``). SQLite's index on ``period`` ends in the rowid, so it already returned that
order and the page read 25 rows; PostgreSQL's did not: it read the whole newest month
(every account's invoice, 61,454 rows at 40,000 customers) and sorted it for each
page, 91 ms instead of under 1 ms (with the provider filter 196 ms, period 298 ms).
``(period, id)`` gives PostgreSQL the order SQLite had; on SQLite it is the same index.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 08:45:00
"""
from __future__ import annotations

from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.drop_index('ix_invoices_period')
        batch_op.create_index('ix_invoices_period_id', ['period', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.drop_index('ix_invoices_period_id')
        batch_op.create_index('ix_invoices_period', ['period'], unique=False)
