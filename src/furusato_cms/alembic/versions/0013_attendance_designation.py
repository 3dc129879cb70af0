"""designation kept on each attendance (reserved)

Revision ID: 0013_attendance_designation
Revises: 0012_relationship_types
Create Date: 2026-12-04 21:40:00
"""
from alembic import op  # noqa: F401


revision = '0013_attendance_designation'
down_revision = '0012_relationship_types'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
