"""a municipality's own keys of the attendance it sends through the API

Revision ID: 0029_attendance_external_ids
Revises: 0028_stats_changes
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0029_attendance_external_ids'
down_revision = '0028_stats_changes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attendance_external_ids',
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('external_id', sa.String(length=100), nullable=False),
        sa.Column('attendance_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['attendance_id'], ['attendances.id'],
                                name=op.f('fk_attendance_external_ids_attendance_id_attendances')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
                                name=op.f('fk_attendance_external_ids_site_id_sites')),
        sa.PrimaryKeyConstraint('site_id', 'external_id', name=op.f('pk_attendance_external_ids')),
    )
    op.create_index(op.f('ix_attendance_external_ids_attendance_id'), 'attendance_external_ids',
                    ['attendance_id'])


def downgrade():
    op.drop_index(op.f('ix_attendance_external_ids_attendance_id'),
                  table_name='attendance_external_ids')
    op.drop_table('attendance_external_ids')
