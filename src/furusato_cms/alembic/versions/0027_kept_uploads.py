"""kept uploads: a file of activity records kept between the check and the import

Revision ID: 0027_kept_uploads
Revises: 0026_activity_search
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0027_kept_uploads'
down_revision = '0026_activity_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=300), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
                                name=op.f('fk_import_uploads_site_id_sites')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['accounts.id'],
                                name=op.f('fk_import_uploads_uploaded_by_id_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_uploads')),
    )
    op.create_index(op.f('ix_import_uploads_site_id'), 'import_uploads', ['site_id'])
    op.create_index(op.f('ix_import_uploads_created_at'), 'import_uploads', ['created_at'])
    op.create_index(op.f('ix_import_uploads_uploaded_by_id'), 'import_uploads',
                    ['uploaded_by_id'])


def downgrade():
    op.drop_index(op.f('ix_import_uploads_uploaded_by_id'), table_name='import_uploads')
    op.drop_index(op.f('ix_import_uploads_created_at'), table_name='import_uploads')
    op.drop_index(op.f('ix_import_uploads_site_id'), table_name='import_uploads')
    op.drop_table('import_uploads')
