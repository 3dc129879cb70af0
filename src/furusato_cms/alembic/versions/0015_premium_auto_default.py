"""premium approved automatically by default (reserved)

Revision ID: 0015_premium_auto_default
Revises: 0014_national_settings
Create Date: 2026-12-04 21:40:00
"""
from alembic import op  # noqa: F401


revision = '0015_premium_auto_default'
down_revision = '0014_national_settings'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
