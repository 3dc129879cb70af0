"""Site branding: a logo, a header image and an accent colour per site (issue 18 item 9)

Revision ID: 0023_site_branding
Revises: 0022_import_uploads
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0023_site_branding'
down_revision = '0022_import_uploads'
branch_labels = None
depends_on = None

COLUMNS = (
    ("logo_key", 32),
    ("header_image_key", 32),
    ("accent_color", 7),
)


def upgrade():
    for name, length in COLUMNS:
        op.add_column("sites", sa.Column(name, sa.String(length), nullable=True))


def downgrade():
    for name, _length in reversed(COLUMNS):
        op.execute(f"ALTER TABLE sites DROP COLUMN {name}")
