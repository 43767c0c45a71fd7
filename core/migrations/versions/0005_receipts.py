"""receipts: the receipt of each payment that moved money, with its fiscal data

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:48:29.498089
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('operation', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_to', sa.String(length=254), nullable=True),
    sa.Column('fiscal_drive_number', sa.String(length=16), nullable=True),
    sa.Column('fiscal_document_number', sa.Integer(), nullable=True),
    sa.Column('fiscal_sign', sa.String(length=10), nullable=True),
    sa.Column('kkt_registration_number', sa.String(length=16), nullable=True),
    sa.Column('shift_number', sa.Integer(), nullable=True),
    sa.Column('fiscalised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fiscal_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_receipts_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_receipts_payment_id'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index('ix_receipts_unfiscalised', ['fiscal_document_number', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_receipts_unfiscalised')

    op.drop_table('receipts')
