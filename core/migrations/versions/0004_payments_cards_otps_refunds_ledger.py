"""payments, cards, otps, refunds, ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 02:55:53.051578
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

from core.db import append_only

# Money history is never edited: corrections are new rows (reversals, new events).
APPEND_ONLY = ("ledger_journals", "ledger_entries", "payment_events")


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('saved_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('gateway_token', sa.String(length=64), nullable=False),
    sa.Column('brand', sa.String(length=20), nullable=False),
    sa.Column('masked_pan', sa.String(length=19), nullable=False),
    sa.Column('exp_month', sa.Integer(), nullable=False),
    sa.Column('exp_year', sa.Integer(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_saved_cards_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_cards')),
    sa.UniqueConstraint('gateway_token', name=op.f('uq_saved_cards_gateway_token'))
    )
    with op.batch_alter_table('saved_cards', schema=None) as batch_op:
        batch_op.create_index('ix_saved_cards_customer', ['customer_id', 'removed_at'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('receipt_email', sa.String(length=254), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('provider_account_id', sa.Integer(), nullable=True),
    sa.Column('account_number', sa.String(length=30), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('commission', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('saved_card_id', sa.Integer(), nullable=True),
    sa.Column('card_brand', sa.String(length=20), nullable=True),
    sa.Column('masked_pan', sa.String(length=19), nullable=True),
    sa.Column('gateway_txn_id', sa.String(length=64), nullable=True),
    sa.Column('rrn', sa.String(length=12), nullable=True),
    sa.Column('auth_code', sa.String(length=12), nullable=True),
    sa.Column('decline_code', sa.String(length=30), nullable=True),
    sa.Column('decline_reason', sa.String(length=200), nullable=True),
    sa.Column('refunded_amount', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('check_attempts', sa.Integer(), nullable=False),
    sa.Column('manual_review', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount_positive')),
    sa.CheckConstraint('refunded_amount >= 0 AND refunded_amount <= amount', name=op.f('ck_payments_refund_within_amount')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_payments_customer_id_customers')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payments_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['provider_account_id'], ['provider_accounts.id'], name=op.f('fk_payments_provider_account_id_provider_accounts')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_payments_provider_id_providers')),
    sa.ForeignKeyConstraint(['saved_card_id'], ['saved_cards.id'], name=op.f('fk_payments_saved_card_id_saved_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('gateway_txn_id', name=op.f('uq_payments_gateway_txn_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payments_idempotency_key'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_created', ['created_at'], unique=False)
        batch_op.create_index('ix_payments_customer', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_payments_invoice', ['invoice_id'], unique=False)
        batch_op.create_index('ix_payments_provider', ['provider_id', 'created_at'], unique=False)
        batch_op.create_index('ix_payments_status_check', ['status', 'next_check_at'], unique=False)

    op.create_table('payment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor_kind', sa.Enum('customer', 'staff', 'system', name='actorkind', native_enum=False, length=20), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_events_payment_id_payments')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_payment_events_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events'))
    )
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.create_index('ix_payment_events_payment', ['payment_id', 'at'], unique=False)

    op.create_table('payment_otps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_otps_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_otps'))
    )
    with op.batch_alter_table('payment_otps', schema=None) as batch_op:
        batch_op.create_index('ix_payment_otps_payment', ['payment_id', 'created_at'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by_staff_id', sa.Integer(), nullable=False),
    sa.Column('approved_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('gateway_refund_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['approved_by_staff_id'], ['staff_users.id'], name=op.f('fk_refunds_approved_by_staff_id_staff_users')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.ForeignKeyConstraint(['requested_by_staff_id'], ['staff_users.id'], name=op.f('fk_refunds_requested_by_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_refunds_idempotency_key'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_payment', ['payment_id'], unique=False)

    op.create_table('ledger_journals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('refund_id', sa.Integer(), nullable=True),
    sa.Column('reverses_journal_id', sa.Integer(), nullable=True),
    sa.Column('memo', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_ledger_journals_payment_id_payments')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_ledger_journals_refund_id_refunds')),
    sa.ForeignKeyConstraint(['reverses_journal_id'], ['ledger_journals.id'], name=op.f('fk_ledger_journals_reverses_journal_id_ledger_journals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_journals'))
    )
    with op.batch_alter_table('ledger_journals', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_journals_at', ['at'], unique=False)
        batch_op.create_index('ix_ledger_journals_payment', ['payment_id'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journal_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=30), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['journal_id'], ['ledger_journals.id'], name=op.f('fk_ledger_entries_journal_id_ledger_journals')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_ledger_entries_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_account', ['account', 'provider_id'], unique=False)
        batch_op.create_index('ix_ledger_entries_journal', ['journal_id'], unique=False)



    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in append_only.create_statements(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in append_only.drop_statements(table, dialect):
            op.execute(statement)
    
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_journal')
        batch_op.drop_index('ix_ledger_entries_account')

    op.drop_table('ledger_entries')
    with op.batch_alter_table('ledger_journals', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_journals_payment')
        batch_op.drop_index('ix_ledger_journals_at')

    op.drop_table('ledger_journals')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_payment')

    op.drop_table('refunds')
    with op.batch_alter_table('payment_otps', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_otps_payment')

    op.drop_table('payment_otps')
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_events_payment')

    op.drop_table('payment_events')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_status_check')
        batch_op.drop_index('ix_payments_provider')
        batch_op.drop_index('ix_payments_invoice')
        batch_op.drop_index('ix_payments_customer')
        batch_op.drop_index('ix_payments_created')

    op.drop_table('payments')
    with op.batch_alter_table('saved_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_saved_cards_customer')

    op.drop_table('saved_cards')

