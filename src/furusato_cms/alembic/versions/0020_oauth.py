"""(reserved revision, filled in by its issue's work; a no-op until then)

Revision ID: 0020_oauth
Revises: 0019_site_preparing
Create Date: 2026-12-05 00:00:00
"""


revision = '0020_oauth'
down_revision = '0019_site_preparing'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
