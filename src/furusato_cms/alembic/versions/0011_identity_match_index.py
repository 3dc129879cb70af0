"""identity verifications indexed by date of birth and postal code

Importing activity records matches each batch of participants to verified people by date
of birth and postal code; without an index every batch read the whole table, which at a
million people made a 100,000-row import spend most of its time scanning.

Revision ID: 0011_identity_match_index
Revises: 0010_attendance_partial_indexes
Create Date: 2026-11-25 16:30:00
"""
from alembic import op


revision = '0011_identity_match_index'
down_revision = '0010_attendance_partial_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_identity_verifications_birthdate_postal_code',
                    'identity_verifications', ['birthdate', 'postal_code'], unique=False)


def downgrade():
    op.drop_index('ix_identity_verifications_birthdate_postal_code',
                  table_name='identity_verifications')
