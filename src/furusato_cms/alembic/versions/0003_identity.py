"""identity: home municipality name; guardian's email and one-time confirmation link

Revision ID: 0003_identity
Revises: 0002
Create Date: 2026-11-25 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_identity'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('identity_verifications', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('home_name', sa.String(length=100), nullable=False, server_default='')
        )
    with op.batch_alter_table('guardian_consents', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('guardian_email', sa.String(length=254), nullable=False, server_default='')
        )
        batch_op.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_guardian_consents_token_hash'), ['token_hash']
        )


def downgrade():
    with op.batch_alter_table('guardian_consents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_guardian_consents_token_hash'), type_='unique')
        batch_op.drop_column('token_expires_at')
        batch_op.drop_column('token_hash')
        batch_op.drop_column('guardian_email')
    with op.batch_alter_table('identity_verifications', schema=None) as batch_op:
        batch_op.drop_column('home_name')
