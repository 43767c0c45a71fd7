"""staff_sessions.client_hash: the client a staff session was opened from

SHA-256 of the client address and user agent the login came from. A re-login cookie
resumes only from the client its session was opened from, and a session that is
suddenly used from another one ends; so a copied cookie does not log in elsewhere.
Sessions opened before this revision have none and are not bound.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 11:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_sessions') as batch_op:
        batch_op.add_column(sa.Column('client_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_sessions') as batch_op:
        batch_op.drop_column('client_hash')
