"""statistics: snapshots of the figures of sites and the nation

Revision ID: 0009_statistics
Revises: 0008_community
Create Date: 2026-11-25 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_statistics'
down_revision = '0008_community'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_snapshots'))
    )
    op.create_table('stats_figures',
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('figure', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['stats_snapshots.id'], name=op.f('fk_stats_figures_snapshot_id_stats_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('snapshot_id', 'site_id', 'figure', 'key', name=op.f('pk_stats_figures'))
    )
    with op.batch_alter_table('stats_figures', schema=None) as batch_op:
        batch_op.create_index('ix_stats_figures_figure', ['snapshot_id', 'figure', 'site_id'], unique=False)


def downgrade():
    with op.batch_alter_table('stats_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_figures_figure')
    op.drop_table('stats_figures')
    op.drop_table('stats_snapshots')
