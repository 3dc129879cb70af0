"""relationship types as the national guideline defines them (reserved)

Revision ID: 0012_relationship_types
Revises: 0011_identity_match_index
Create Date: 2026-12-04 21:40:00
"""
from alembic import op  # noqa: F401


revision = '0012_relationship_types'
down_revision = '0011_identity_match_index'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
