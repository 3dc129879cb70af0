"""(reserved revision, filled in by its issue's work; a no-op until then)

Revision ID: 0023_site_branding
Revises: 0022_import_uploads
Create Date: 2026-12-05 00:00:00
"""


revision = '0023_site_branding'
down_revision = '0022_import_uploads'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
