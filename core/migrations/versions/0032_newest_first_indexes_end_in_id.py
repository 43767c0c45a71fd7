"""payments and open cabinet blocks: the newest-first indexes carry the id

«Платежи» (all, by provider, by card's last four digits, a customer's card) and
«Заблокированные кабинеты» list newest first, then by id (``ORDER BY created_at DESC,
id DESC``). SQLite's indexes end in the rowid, so they already gave that order; on
PostgreSQL they did not, and each page read every row of the newest timestamps and
sorted them: at full scale (1,000,000 payments) «Платежи» 96 ms a rerun for its 25
rows (an Incremental Sort over 10,870; 0.17 ms with the id). With the id in the index
PostgreSQL reads the 25 rows in order, as SQLite does; on SQLite each is the same index
as before. Same names, one column more (as 0029 did for invoices).

The open blocks' index becomes partial, ``(blocked_at, id) WHERE lifted_at IS NULL``:
PostgreSQL does not take ``lifted_at IS NULL`` as fixing the index's first column, so
``(lifted_at, blocked_at, id)`` still left a sort of every open block (58 ms at 9,210;
0.3 ms partial). Both databases read the partial index for that WHERE.

And a customer's personal accounts (the customer card's «Лицевые счета», removed ones
included) get an index of their own: the only one on ``customer_id`` was the partial
unique index of the active bindings, so both databases scanned every binding (PostgreSQL
37 ms at 307,000 bindings, 0.1 ms with the index).

«Платежи» filtered by status alone (the default «Оплачен» of finance) reads
``(status, created_at, id)``: with only ``(status, next_check_at)`` SQLite sorted every
succeeded payment for a page (3.5 s at 1,000,000 payments, 889,000 of them succeeded).

SQLite forgets the statistics of a dropped index, and a rebuilt index without them
misled its planner (the payments list 8.5 s on an upgraded full-scale copy, 8 ms after
``ANALYZE``): where the database has statistics, the tables touched are analysed again.
PostgreSQL keeps its statistics per column, which no index rebuild drops.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 19:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

INDEXES = {
    "payments": {
        "ix_payments_created": ["created_at"],
        "ix_payments_customer": ["customer_id", "created_at"],
        "ix_payments_provider": ["provider_id", "created_at"],
        "ix_payments_pan_last4": ["pan_last4", "created_at"],
    },
}
OPEN = sa.text("lifted_at IS NULL")


def _rebuild(with_id: bool) -> None:
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table) as batch_op:
            for name, columns in indexes.items():
                batch_op.drop_index(name)
                batch_op.create_index(name, [*columns, "id"] if with_id else columns,
                                      unique=False)


TOUCHED = ("payments", "cabinet_blocks", "account_bindings", "invoices")  # invoices: 0029


def _reanalyse() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        return  # never analysed: the planner has no statistics to be misled by
    for table in TOUCHED:
        bind.exec_driver_sql(f"ANALYZE {table}")


def upgrade() -> None:
    _rebuild(with_id=True)
    op.create_index("ix_account_bindings_customer", "account_bindings",
                    ["customer_id", "created_at", "id"], unique=False)
    op.create_index("ix_payments_status_created", "payments", ["status", "created_at", "id"],
                    unique=False)
    _reanalyse()
    op.drop_index("ix_cabinet_blocks_open_newest", table_name="cabinet_blocks")
    op.create_index("ix_cabinet_blocks_open_newest", "cabinet_blocks", ["blocked_at", "id"],
                    unique=False, postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_payments_status_created", table_name="payments")
    op.drop_index("ix_account_bindings_customer", table_name="account_bindings")
    _rebuild(with_id=False)
    op.drop_index("ix_cabinet_blocks_open_newest", table_name="cabinet_blocks")
    op.create_index("ix_cabinet_blocks_open_newest", "cabinet_blocks",
                    ["lifted_at", "blocked_at"], unique=False)
