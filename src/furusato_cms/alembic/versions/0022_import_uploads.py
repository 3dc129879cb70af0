"""(reserved revision, filled in by its issue's work; a no-op until then)

Revision ID: 0022_import_uploads
Revises: 0021_webhooks
Create Date: 2026-12-05 00:00:00
"""


revision = '0022_import_uploads'
down_revision = '0021_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
