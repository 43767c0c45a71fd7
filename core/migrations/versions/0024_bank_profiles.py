"""bank_profiles: finance's saved bank profiles (how a bank's registry file maps to ours)

The profile itself is its file form as JSON (core.finance.bank_profile.to_dict), so that a
new field of the profile needs no migration. name_key is the name case-folded: unique, so
«Сбер» and «СБЕР» cannot both exist, on SQLite and PostgreSQL alike (no functional index).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 07:45:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'bank_profiles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('name_key', sa.String(length=80), nullable=False),
        sa.Column('profile', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_staff_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_staff_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff_users.id'],
                                name=op.f('fk_bank_profiles_created_by_staff_id_staff_users')),
        sa.ForeignKeyConstraint(['updated_by_staff_id'], ['staff_users.id'],
                                name=op.f('fk_bank_profiles_updated_by_staff_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_profiles')),
        sa.UniqueConstraint('name_key', name=op.f('uq_bank_profiles_name_key')),
    )


def downgrade() -> None:
    op.drop_table('bank_profiles')
