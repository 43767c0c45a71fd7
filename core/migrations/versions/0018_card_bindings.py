"""card_bindings: a card bound in «Способы оплаты» without a payment

The acquirer's card check (a 1 ₽ hold behind a one-time password, released at once),
one row per attempt: the masked number, the bank's transaction and token, the HMAC of
the password and its attempts, the outcome. Never the full number or the CVV.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 20:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'card_bindings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('gateway_key', sa.String(length=64), nullable=False),
        sa.Column('gateway_txn_id', sa.String(length=64), nullable=True),
        sa.Column('gateway_token', sa.String(length=64), nullable=True),
        sa.Column('brand', sa.String(length=20), nullable=False),
        sa.Column('masked_pan', sa.String(length=19), nullable=False),
        sa.Column('exp_month', sa.Integer(), nullable=False),
        sa.Column('exp_year', sa.Integer(), nullable=False),
        sa.Column('otp_hash', sa.String(length=64), nullable=True),
        sa.Column('otp_created_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('otp_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('otp_attempts', sa.Integer(), nullable=False),
        sa.Column('otp_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decline_code', sa.String(length=40), nullable=True),
        sa.Column('decline_reason', sa.String(length=200), nullable=True),
        sa.Column('saved_card_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_card_bindings_customer_id_customers')),
        sa.ForeignKeyConstraint(['saved_card_id'], ['saved_cards.id'],
                                name=op.f('fk_card_bindings_saved_card_id_saved_cards')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_card_bindings')),
        sa.UniqueConstraint('gateway_key', name=op.f('uq_card_bindings_gateway_key')),
    )
    op.create_index('ix_card_bindings_customer', 'card_bindings',
                    ['customer_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_card_bindings_customer', table_name='card_bindings')
    op.drop_table('card_bindings')
