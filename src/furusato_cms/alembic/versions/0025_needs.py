"""(reserved revision, filled in by its issue's work; a no-op until then)

Revision ID: 0025_needs
Revises: 0024_member_imports
Create Date: 2026-12-05 00:00:00
"""


revision = '0025_needs'
down_revision = '0024_member_imports'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
