"""hardening: unguessable image ids and input limits (reserved)

Revision ID: 0016_hardening_input
Revises: 0015_premium_auto_default
Create Date: 2026-12-04 21:40:00
"""
from alembic import op  # noqa: F401


revision = '0016_hardening_input'
down_revision = '0015_premium_auto_default'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
