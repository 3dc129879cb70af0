"""(reserved revision, filled in by its issue's work; a no-op until then)

Revision ID: 0024_member_imports
Revises: 0023_site_branding
Create Date: 2026-12-05 00:00:00
"""


revision = '0024_member_imports'
down_revision = '0023_site_branding'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
