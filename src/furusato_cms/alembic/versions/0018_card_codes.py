"""card codes: the short human-enterable code on a registrant's card code page

Revision ID: 0018_card_codes
Revises: 0017_hardening_accounts
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018_card_codes'
down_revision = '0017_hardening_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('card_codes',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_card_codes_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_card_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_card_codes_code'))
    )


def downgrade():
    op.drop_table('card_codes')
