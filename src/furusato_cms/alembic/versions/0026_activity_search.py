"""(reserved revision, filled in by its issue's work; a no-op until then)

Revision ID: 0026_activity_search
Revises: 0025_needs
Create Date: 2026-12-05 00:00:00
"""


revision = '0026_activity_search'
down_revision = '0025_needs'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
