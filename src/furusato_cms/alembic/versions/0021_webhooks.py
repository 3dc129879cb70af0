"""(reserved revision, filled in by its issue's work; a no-op until then)

Revision ID: 0021_webhooks
Revises: 0020_oauth
Create Date: 2026-12-05 00:00:00
"""


revision = '0021_webhooks'
down_revision = '0020_oauth'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
