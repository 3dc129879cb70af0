"""national settings, terms of use and privacy notices

- ``national_settings``: one row (id 1) with what the national operator decides: the end
  of the fee-free period (empty: the country has not decided it, pages say 「一定期間」)
  and the national inactivity release period (730 days, the guideline's 2 years).
- ``terms_versions`` / ``terms_acceptances``: the platform's terms of use (利用規約). Version 1
  is seeded here from ``furusato_cms.policy_texts.DEFAULT_TERMS`` (a plain template for the
  operator to replace). No account has accepted it, so every existing registrant is asked
  to accept it on their next signed-in visit.
- ``privacy_notices`` / ``privacy_acceptances``: each site's privacy notice
  (個人情報の取扱い). Every site that exists now gets version 1 from
  ``DEFAULT_PRIVACY_NOTICE``; sites approved later get it at approval. Existing
  registrations have accepted none, so their people are asked on their next visit to /my/.

``sites.inactivity_days`` keeps its values and stays NOT NULL: from now on the longer of it
and the national period applies, so a value below the national period simply no longer
shortens anything. (A nullable "no extension" column would need ``sites`` rebuilt, which
SQLite cannot do inside a transaction while other tables' foreign keys point at it.)

Revision ID: 0014_national_settings
Revises: 0013_attendance_designation
Create Date: 2026-12-04 21:40:00
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from furusato_cms.policy_texts import DEFAULT_PRIVACY_NOTICE, DEFAULT_TERMS

revision = '0014_national_settings'
down_revision = '0013_attendance_designation'
branch_labels = None
depends_on = None


def _published_at():
    """A bound UTC time in the shape each database stores (SQLite: naive UTC text)."""
    now = datetime.now(timezone.utc)
    if op.get_bind().dialect.name == "sqlite":
        return now.replace(tzinfo=None)
    return now


def upgrade():
    op.create_table('national_settings',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('free_period_end', sa.Date(), nullable=True),
    sa.Column('inactivity_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('id = 1', name=op.f('ck_national_settings_single_row')),
    sa.CheckConstraint('inactivity_days BETWEEN 60 AND 3650', name=op.f('ck_national_settings_inactivity_days')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['accounts.id'], name=op.f('fk_national_settings_updated_by_id_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_national_settings'))
    )
    with op.batch_alter_table('national_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_national_settings_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('terms_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['published_by_id'], ['accounts.id'], name=op.f('fk_terms_versions_published_by_id_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_terms_versions'))
    )
    with op.batch_alter_table('terms_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terms_versions_published_by_id'), ['published_by_id'], unique=False)

    op.create_table('terms_acceptances',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_terms_acceptances_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version'], ['terms_versions.version'], name=op.f('fk_terms_acceptances_version_terms_versions')),
    sa.PrimaryKeyConstraint('account_id', 'version', name=op.f('pk_terms_acceptances'))
    )
    with op.batch_alter_table('terms_acceptances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terms_acceptances_version'), ['version'], unique=False)

    op.create_table('privacy_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['published_by_id'], ['accounts.id'], name=op.f('fk_privacy_notices_published_by_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_privacy_notices_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_notices')),
    sa.UniqueConstraint('site_id', 'version', name=op.f('uq_privacy_notices_site_id'))
    )
    with op.batch_alter_table('privacy_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_notices_published_by_id'), ['published_by_id'], unique=False)

    op.create_table('privacy_acceptances',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_privacy_acceptances_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notice_id'], ['privacy_notices.id'], name=op.f('fk_privacy_acceptances_notice_id_privacy_notices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'notice_id', name=op.f('pk_privacy_acceptances'))
    )
    with op.batch_alter_table('privacy_acceptances', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_acceptances_notice_id', ['notice_id'], unique=False)

    now = _published_at()
    op.execute(sa.text(
        "INSERT INTO national_settings (id, free_period_end, inactivity_days) VALUES (1, NULL, 730)"
    ))
    op.execute(sa.text(
        "INSERT INTO terms_versions (version, body, published_at) VALUES (1, :body, :at)"
    ).bindparams(body=DEFAULT_TERMS, at=now))
    op.execute(sa.text(
        "INSERT INTO privacy_notices (site_id, version, body, published_at) "
        "SELECT id, 1, :body, :at FROM sites"
    ).bindparams(body=DEFAULT_PRIVACY_NOTICE, at=now))


def downgrade():
    op.drop_table('privacy_acceptances')
    op.drop_table('privacy_notices')
    op.drop_table('terms_acceptances')
    op.drop_table('terms_versions')
    op.drop_table('national_settings')
