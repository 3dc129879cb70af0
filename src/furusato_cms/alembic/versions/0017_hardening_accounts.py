"""hardening: recovery codes, one open support application, audit truncate guard

- ``recovery_codes``: one-time codes that stand in for the TOTP code, stored hashed.
- ``sites.require_totp`` goes: two-step sign-in is required of every staff account and
  the operator, so a site has nothing left to turn on or off.
- ``support_applications``: at most one open ('submitted') application per person and
  measure (a partial unique index), and the form's one-time ``request_token``. Open
  duplicates already stored are closed first: the earliest stays, the later ones are
  rejected with a reason the applicant sees.
- ``audit_entries``: TRUNCATE is refused on PostgreSQL, as UPDATE and DELETE already
  are (SQLite has no TRUNCATE).

Every change is a plain ADD/DROP COLUMN, CREATE INDEX or CREATE TABLE on both databases:
no SQLite batch copy of a table other tables point at.

Revision ID: 0017_hardening_accounts
Revises: 0016_hardening_input
Create Date: 2026-12-04 21:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_hardening_accounts'
down_revision = '0016_hardening_input'
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'submitted'")

CLOSE_OPEN_DUPLICATES = """
UPDATE support_applications
SET state = 'rejected', decided_at = CURRENT_TIMESTAMP,
    reason = 'Sent more than once: the earliest application of the same measure is the one handled.'
WHERE state = 'submitted' AND EXISTS (
    SELECT 1 FROM support_applications AS earlier
    WHERE earlier.account_id = support_applications.account_id
      AND earlier.measure_id = support_applications.measure_id
      AND earlier.state = 'submitted' AND earlier.id < support_applications.id)
"""

TRUNCATE_GUARD_PG = """
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()
"""


def _postgresql():
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_recovery_codes_account_id_accounts'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
        sa.UniqueConstraint('account_id', 'code_hash', name=op.f('uq_recovery_codes_account_id')),
    )
    op.execute("ALTER TABLE sites DROP COLUMN require_totp")

    op.execute(CLOSE_OPEN_DUPLICATES)
    op.add_column('support_applications',
                  sa.Column('request_token', sa.String(length=64), nullable=True))
    op.create_index('uq_support_applications_request_token', 'support_applications',
                    ['request_token'], unique=True)
    op.create_index('uq_support_applications_open', 'support_applications',
                    ['account_id', 'measure_id'], unique=True,
                    postgresql_where=OPEN, sqlite_where=OPEN)

    if _postgresql():
        op.execute(TRUNCATE_GUARD_PG)


def downgrade():
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
    op.drop_index('uq_support_applications_open', table_name='support_applications')
    op.drop_index('uq_support_applications_request_token', table_name='support_applications')
    op.execute("ALTER TABLE support_applications DROP COLUMN request_token")
    op.add_column('sites', sa.Column('require_totp', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.drop_table('recovery_codes')
