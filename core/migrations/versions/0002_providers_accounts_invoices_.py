"""providers, accounts, invoices, subscriptions, templates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 01:58:46.713690
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('inn', sa.String(length=12), nullable=False),
    sa.Column('contact_phone', sa.String(length=30), nullable=False),
    sa.Column('service_kind', sa.String(length=30), nullable=False),
    sa.Column('account_pattern', sa.String(length=100), nullable=False),
    sa.Column('account_hint', sa.String(length=100), nullable=False),
    sa.Column('invoicing_enabled', sa.Boolean(), nullable=False),
    sa.Column('commission_bp', sa.Integer(), nullable=False),
    sa.Column('commission_min', sa.Integer(), nullable=False),
    sa.Column('ownership_proof', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_providers')),
    sa.UniqueConstraint('inn', name=op.f('uq_providers_inn')),
    sa.UniqueConstraint('name', name=op.f('uq_providers_name'))
    )
    op.create_table('message_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.Enum('sms', 'email', name='channel', native_enum=False, length=10), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_staff_id'], ['staff_users.id'], name=op.f('fk_message_templates_updated_by_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_templates')),
    sa.UniqueConstraint('topic', 'channel', name='uq_message_templates_cell')
    )
    op.create_table('provider_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('payer_masked', sa.String(length=100), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_accounts_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_accounts')),
    sa.UniqueConstraint('provider_id', 'number', name='uq_provider_accounts_number')
    )
    op.create_table('registry_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_registry_files_provider_id_providers')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_registry_files_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_files')),
    sa.UniqueConstraint('provider_id', 'kind', 'sha256', name='uq_registry_files_checksum')
    )
    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.Enum('sms', 'email', name='channel', native_enum=False, length=10), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_subscriptions_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('customer_id', 'topic', 'channel', name='uq_subscriptions_cell')
    )
    op.create_table('account_bindings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('provider_account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_account_bindings_customer_id_customers')),
    sa.ForeignKeyConstraint(['provider_account_id'], ['provider_accounts.id'], name=op.f('fk_account_bindings_provider_account_id_provider_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_bindings'))
    )
    with op.batch_alter_table('account_bindings', schema=None) as batch_op:
        batch_op.create_index('ix_account_bindings_account', ['provider_account_id', 'removed_at'], unique=False)
        batch_op.create_index('uq_account_bindings_active', ['customer_id', 'provider_account_id'], unique=True, sqlite_where=sa.text('removed_at IS NULL'), postgresql_where=sa.text('removed_at IS NULL'))

    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_account_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('total_due', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('unpaid', 'partially_paid', 'paid', name='invoicestatus', native_enum=False, length=20), nullable=False),
    sa.Column('paid_amount', sa.Integer(), nullable=False),
    sa.Column('registry_file_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_account_id'], ['provider_accounts.id'], name=op.f('fk_invoices_provider_account_id_provider_accounts')),
    sa.ForeignKeyConstraint(['registry_file_id'], ['registry_files.id'], name=op.f('fk_invoices_registry_file_id_registry_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('provider_account_id', 'period', name='uq_invoices_account_period')
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_period', ['period'], unique=False)
        batch_op.create_index('ix_invoices_status_due', ['status', 'due_date'], unique=False)

    op.create_table('ownership_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('provider_account_id', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_ownership_checks_customer_id_customers')),
    sa.ForeignKeyConstraint(['provider_account_id'], ['provider_accounts.id'], name=op.f('fk_ownership_checks_provider_account_id_provider_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ownership_checks')),
    sa.UniqueConstraint('customer_id', 'provider_account_id', name='uq_ownership_checks_pair')
    )
    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('volume', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('tariff', sa.Integer(), nullable=False),
    sa.Column('accrued', sa.Integer(), nullable=False),
    sa.Column('recalculation', sa.Integer(), nullable=False),
    sa.Column('debt', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines'))
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_lines_invoice', ['invoice_id', 'line_no'], unique=False)

    op.create_table('invoice_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unmarked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_invoice_marks_customer_id_customers')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_marks_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_marks'))
    )
    with op.batch_alter_table('invoice_marks', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_marks_invoice', ['invoice_id', 'customer_id'], unique=False)




def downgrade() -> None:
    
    with op.batch_alter_table('invoice_marks', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_marks_invoice')

    op.drop_table('invoice_marks')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_lines_invoice')

    op.drop_table('invoice_lines')
    op.drop_table('ownership_checks')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_status_due')
        batch_op.drop_index('ix_invoices_period')

    op.drop_table('invoices')
    with op.batch_alter_table('account_bindings', schema=None) as batch_op:
        batch_op.drop_index('uq_account_bindings_active', sqlite_where=sa.text('removed_at IS NULL'), postgresql_where=sa.text('removed_at IS NULL'))
        batch_op.drop_index('ix_account_bindings_account')

    op.drop_table('account_bindings')
    op.drop_table('subscriptions')
    op.drop_table('registry_files')
    op.drop_table('provider_accounts')
    op.drop_table('message_templates')
    op.drop_table('providers')

