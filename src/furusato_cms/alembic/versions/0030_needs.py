"""local needs (地域課題・担い手ニーズ) submitted to a site, and their triage

Revision ID: 0030_needs
Revises: 0029_attendance_external_ids
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0030_needs'
down_revision = '0029_attendance_external_ids'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'needs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('submitted_by_id', sa.Integer(), nullable=False),
        sa.Column('submitter_role', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('place', sa.String(length=300), nullable=False),
        sa.Column('timing', sa.String(length=200), nullable=False),
        sa.Column('people_wanted', sa.Integer(), nullable=True),
        sa.Column('skills', sa.String(length=500), nullable=False),
        sa.Column('contact', sa.String(length=300), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('decline_reason', sa.Text(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('new', 'accepted', 'declined', 'became_project')",
                           name=op.f('ck_needs_state')),
        sa.CheckConstraint("submitter_role IN ('registrant', 'partner', 'coordinator', "
                           "'site_admin')", name=op.f('ck_needs_submitter_role')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_needs_site_id_sites')),
        sa.ForeignKeyConstraint(['submitted_by_id'], ['accounts.id'],
                                name=op.f('fk_needs_submitted_by_id_accounts')),
        sa.ForeignKeyConstraint(['project_id'], ['content_items.id'],
                                name=op.f('fk_needs_project_id_content_items')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['accounts.id'],
                                name=op.f('fk_needs_decided_by_id_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_needs')),
    )
    op.create_index('ix_needs_site_state', 'needs', ['site_id', 'state', 'created_at'])
    op.create_index(op.f('ix_needs_submitted_by_id'), 'needs', ['submitted_by_id'])
    op.create_index(op.f('ix_needs_project_id'), 'needs', ['project_id'])
    op.create_index(op.f('ix_needs_decided_by_id'), 'needs', ['decided_by_id'])


def downgrade():
    for name in ('ix_needs_decided_by_id', 'ix_needs_project_id', 'ix_needs_submitted_by_id'):
        op.drop_index(op.f(name), table_name='needs')
    op.drop_index('ix_needs_site_state', table_name='needs')
    op.drop_table('needs')
