"""member lists (会員名簿) imported by a site and the invitations sent from them

Revision ID: 0031_member_invitations
Revises: 0030_needs
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0031_member_invitations'
down_revision = '0030_needs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'member_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=300), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attestation', sa.Text(), nullable=False),
        sa.Column('attested_via', sa.String(length=20), nullable=False),
        sa.Column('attested_by_id', sa.Integer(), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('checked', 'sent', 'expired')",
                           name=op.f('ck_member_imports_state')),
        sa.CheckConstraint("attested_via IN ('web', 'command line')",
                           name=op.f('ck_member_imports_attested_via')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
                                name=op.f('fk_member_imports_site_id_sites')),
        sa.ForeignKeyConstraint(['attested_by_id'], ['accounts.id'],
                                name=op.f('fk_member_imports_attested_by_id_accounts')),
        sa.ForeignKeyConstraint(['sent_by_id'], ['accounts.id'],
                                name=op.f('fk_member_imports_sent_by_id_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_imports')),
    )
    op.create_index('ix_member_imports_site_created', 'member_imports',
                    ['site_id', 'created_at'])
    op.create_index(op.f('ix_member_imports_attested_by_id'), 'member_imports',
                    ['attested_by_id'])
    op.create_index(op.f('ix_member_imports_sent_by_id'), 'member_imports', ['sent_by_id'])
    op.create_table(
        'member_invitees',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_import_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('email_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('display_name', sa.String(length=100), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'sending', 'sent', 'failed')",
                           name=op.f('ck_member_invitees_state')),
        sa.ForeignKeyConstraint(['member_import_id'], ['member_imports.id'],
                                name=op.f('fk_member_invitees_member_import_id_member_imports'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
                                name=op.f('fk_member_invitees_site_id_sites')),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_member_invitees_account_id_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_invitees')),
        sa.UniqueConstraint('site_id', 'email_hash',
                            name=op.f('uq_member_invitees_site_id')),
    )
    op.create_index('ix_member_invitees_state_import', 'member_invitees',
                    ['state', 'member_import_id', 'id'])
    op.create_index('ix_member_invitees_claim', 'member_invitees', ['claim'])
    op.create_index('ix_member_invitees_unused', 'member_invitees', ['used_at', 'sent_at'])
    op.create_index(op.f('ix_member_invitees_member_import_id'), 'member_invitees',
                    ['member_import_id'])
    op.create_index(op.f('ix_member_invitees_account_id'), 'member_invitees', ['account_id'])


def downgrade():
    op.drop_table('member_invitees')
    op.drop_table('member_imports')
