"""Staff second factor and temporary passwords

staff_users: the TOTP secret (Fernet-encrypted) once confirmed, the one being enrolled,
when it was enrolled, the last accepted 30-second step (a code is never accepted twice),
and must_change_password for an administrator's temporary password. staff_recovery_codes:
one-time recovery codes, kept as HMACs. staff_sessions.pending: the login step still owed
(a TOTP code, a new password, the enrolment) before the session opens any page. Existing
members have no second factor: administrators and finance are asked to enrol at their
next login; existing sessions are open (pending NULL).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 06:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.add_column(sa.Column('totp_secret_enc', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_pending_enc', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_enrolled_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('staff_sessions') as batch_op:
        batch_op.add_column(sa.Column('pending', sa.String(length=10), nullable=True))
    op.create_table(
        'staff_recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'],
                                name=op.f('fk_staff_recovery_codes_staff_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_codes')),
    )
    op.create_index('ix_staff_recovery_codes_staff', 'staff_recovery_codes',
                    ['staff_id', 'code_hash'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_staff_recovery_codes_staff', table_name='staff_recovery_codes')
    op.drop_table('staff_recovery_codes')
    with op.batch_alter_table('staff_sessions') as batch_op:
        batch_op.drop_column('pending')
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enrolled_at')
        batch_op.drop_column('totp_secret_enc')
        batch_op.drop_column('totp_pending_enc')
