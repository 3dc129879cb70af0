"""national settings, terms and privacy notices (reserved)

Revision ID: 0014_national_settings
Revises: 0013_attendance_designation
Create Date: 2026-12-04 21:40:00
"""
from alembic import op  # noqa: F401


revision = '0014_national_settings'
down_revision = '0013_attendance_designation'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
