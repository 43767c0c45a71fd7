"""append-only tables: refuse REPLACE-style rewrites (SQLite) and TRUNCATE (PostgreSQL)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:30:00
"""
from __future__ import annotations

from alembic import op

from core.db import append_only

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Spelt out rather than append_only.TABLES: this migration's schema must not change
# when the list does.
TABLES = ("audit_log", "ledger_journals", "ledger_entries", "payment_events")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for statement in append_only.create_rewrite_guards(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for statement in append_only.drop_rewrite_guards(table, dialect):
            op.execute(statement)
