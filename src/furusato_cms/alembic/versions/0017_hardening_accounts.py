"""hardening: recovery codes, one open support application, audit truncate guard (reserved)

Revision ID: 0017_hardening_accounts
Revises: 0016_hardening_input
Create Date: 2026-12-04 21:40:00
"""
from alembic import op  # noqa: F401


revision = '0017_hardening_accounts'
down_revision = '0016_hardening_input'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
