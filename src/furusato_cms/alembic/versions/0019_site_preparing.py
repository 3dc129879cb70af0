"""a newly approved site is in preparation (準備中) until its admin publishes it

``sites.preparing`` is false for every site that exists now: they are public already and
stay so. From now on the operator's approval sets it, so an approved government's empty
page with a registration button is not shown to the public before its admin publishes
it. An added column with a server default: no table is rebuilt.

Revision ID: 0019_site_preparing
Revises: 0018_card_codes
Create Date: 2026-12-04 23:15:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0019_site_preparing'
down_revision = '0018_card_codes'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('sites', sa.Column('preparing', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade():
    # Dropped in place (SQLite 3.35+ and PostgreSQL alike): a batch rebuild of ``sites``
    # fails while other rows point at it and foreign keys are on.
    op.execute("ALTER TABLE sites DROP COLUMN preparing")
