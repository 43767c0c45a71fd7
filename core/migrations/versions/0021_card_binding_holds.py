"""card_bindings.hold_check_at, hold_check_attempts, hold_released_at: no 1 ₽ left held

A card check's 1 ₽ hold is placed when the bank accepts the password and released by
``reverse``. When the reversal's answer is lost, refused, or the bank cannot be asked,
the hold may still be on the customer's card with nobody to release it. ``hold_check_at``
says that it may be, and when the worker asks the bank next (NULL: nothing can be held);
``hold_check_attempts`` drives the backoff; ``hold_released_at`` records when the bank
said it was released. Rows written before: a binding past its password that is neither
bound nor known released may hold money, so it is due at once; a bound one was released.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 22:10:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('card_bindings') as batch_op:
        batch_op.add_column(sa.Column('hold_check_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('hold_check_attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('hold_released_at', sa.DateTime(timezone=True),
                                      nullable=True))
    op.create_index('ix_card_bindings_hold_check', 'card_bindings', ['hold_check_at'],
                    unique=False)
    op.execute("UPDATE card_bindings SET hold_check_at = updated_at "
               "WHERE otp_used_at IS NOT NULL AND status IN ('confirming', 'failed')")
    op.execute("UPDATE card_bindings SET hold_released_at = finished_at WHERE status = 'bound'")


def downgrade() -> None:
    op.drop_index('ix_card_bindings_hold_check', table_name='card_bindings')
    with op.batch_alter_table('card_bindings') as batch_op:
        batch_op.drop_column('hold_released_at')
        batch_op.drop_column('hold_check_attempts')
        batch_op.drop_column('hold_check_at')
