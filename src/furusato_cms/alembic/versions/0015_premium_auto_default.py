"""premium approved automatically by default

The national guideline judges premium registration automatically from the system's
records and has applications reviewed only where a local government chose that. New
sites therefore start with ``premium_auto_approve`` on (also as the column's server
default, so rows written outside the ORM — the bench generator's COPY — agree).
Existing sites keep what they set: no row is changed.

Revision ID: 0015_premium_auto_default
Revises: 0014_national_settings
Create Date: 2026-12-04 21:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0015_premium_auto_default'
down_revision = '0014_national_settings'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sites') as batch:
        batch.alter_column('premium_auto_approve', existing_type=sa.Boolean(),
                           existing_nullable=False, server_default=sa.true())


def downgrade():
    with op.batch_alter_table('sites') as batch:
        batch.alter_column('premium_auto_approve', existing_type=sa.Boolean(),
                           existing_nullable=False, server_default=None)
