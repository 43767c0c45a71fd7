"""reconciliation_runs.content_sha256: the registry recognised by its lines, not its bytes

The same registry saved with CRLF line ends, a BOM or as XLSX instead of CSV has another
file_sha256 and was stored as a new run (one period had 25 open runs).
content_sha256 is the fingerprint of the lines as read
(core.finance.registry_fingerprint): unique, so that a second upload of the same lines is
refused also when two people upload them at once. Runs made before it stay NULL (their
lines are not re-read); NULLs do not collide in a unique index on SQLite nor PostgreSQL.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 08:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reconciliation_runs') as batch_op:
        batch_op.add_column(sa.Column('content_sha256', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_reconciliation_runs_content', ['content_sha256'],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table('reconciliation_runs') as batch_op:
        batch_op.drop_index('ix_reconciliation_runs_content')
        batch_op.drop_column('content_sha256')
