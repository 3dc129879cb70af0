"""statistics corrected per registration: what each registration adds, and a finer change log

A refresh used to count again every site a change named; a day of changes names nearly
every site, so it counted nearly everything (issue 17). Now:

- ``stats_registration_keys`` keeps what each registration adds to its site's figures,
  with ``stats_keys`` numbering the figure keys so the lists stay short; the nation's
  real people are counted from these for the people who changed, so
  ``stats_person_keys`` (revision 0028) goes;
- the change log says which table changed (``source``) and, for an inserted row, which
  row (``row_id``): new attendance is added by itself, not by counting its site again;
- events and survey answers name their registration's person too, so the registration
  they belong to is the unit of work; attendance names its person, so a lookup of new
  attendance reads one partition (revision 0032);
- ``stats_key_rows`` holds, while a refresh runs, the keys of the registrations it
  corrects.

Existing snapshots are marked as of unknown method, so the next refresh counts from
scratch and fills the registrations' keys.

Revision ID: 0034_stats_registration_keys
Revises: 0033_content_body_html
Create Date: 2026-12-05 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0034_stats_registration_keys'
down_revision = '0033_content_body_html'
branch_labels = None
depends_on = None

OF_REGISTRATION = "(SELECT {column} FROM registrations WHERE id = {{row}}.registration_id)"
REGISTRATION_SITE = OF_REGISTRATION.format(column="site_id")
REGISTRATION_ACCOUNT = OF_REGISTRATION.format(column="account_id")
CAPTURED = {
    # table: (the row's site, the row's person), as SQL over the row ({row}: NEW or OLD)
    "registrations": ("{row}.site_id", "{row}.account_id"),
    "identity_verifications": ("NULL", "{row}.account_id"),
    "attendances": ("{row}.site_id", "{row}.account_id"),
    "registration_events": (REGISTRATION_SITE, REGISTRATION_ACCOUNT),
    "survey_answers": (REGISTRATION_SITE, REGISTRATION_ACCOUNT),
    "premium_applications": ("{row}.site_id", "NULL"),
    "support_applications": ("{row}.site_id", "NULL"),
    "survey_questions": ("{row}.site_id", "NULL"),
}
BEFORE = dict(CAPTURED, attendances=("{row}.site_id", "NULL"),
              registration_events=(REGISTRATION_SITE, "NULL"),
              survey_answers=(REGISTRATION_SITE, "NULL"))
"""What revision 0028 captured, restored by the downgrade."""
ACCOUNT_DELETED = ("NULL", "{row}.id")


def _values(site, account, row):
    return f"({site.format(row=row)}, {account.format(row=row)})"


def _insert(table, site, account, row, *, finer, inserted=False):
    if not finer:
        return (f"INSERT INTO stats_changes (site_id, account_id) VALUES "
                f"{_values(site, account, row)};")
    row_id = f"{row}.id" if inserted else "NULL"
    return (f"INSERT INTO stats_changes (site_id, account_id, source, row_id) VALUES "
            f"({site.format(row=row)}, {account.format(row=row)}, '{table}', {row_id});")


def _postgresql_functions(captured, *, finer):
    for table, (site, account) in captured.items():
        new = _insert(table, site, account, "NEW", finer=finer)
        inserted = _insert(table, site, account, "NEW", finer=finer, inserted=True)
        old = _insert(table, site, account, "OLD", finer=finer)
        op.execute(f"""
            CREATE OR REPLACE FUNCTION stats_change_{table}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'INSERT' THEN {inserted}
              ELSIF TG_OP = 'UPDATE' THEN {new}
              END IF;
              IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND
                 {_values(site, account, 'OLD')} IS DISTINCT FROM {_values(site, account, 'NEW')})
              THEN {old} END IF;
              RETURN NULL;
            END $$""")
    op.execute(f"""
        CREATE OR REPLACE FUNCTION stats_change_accounts() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN {_insert('accounts', *ACCOUNT_DELETED, 'NEW', finer=finer)} RETURN NULL; END $$""")


def _sqlite_triggers(captured, *, finer):
    for table, (site, account) in captured.items():
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS stats_change_{table}_{event}")
        inserted = _insert(table, site, account, "NEW", finer=finer, inserted=True)
        new = _insert(table, site, account, "NEW", finer=finer)
        old = _insert(table, site, account, "OLD", finer=finer)
        op.execute(f"CREATE TRIGGER stats_change_{table}_insert AFTER INSERT ON {table} "
                   f"BEGIN {inserted} END")
        op.execute(f"CREATE TRIGGER stats_change_{table}_update AFTER UPDATE ON {table} "
                   f"BEGIN {new} {old} END")
        op.execute(f"CREATE TRIGGER stats_change_{table}_delete AFTER DELETE ON {table} "
                   f"BEGIN {old} END")
    op.execute("DROP TRIGGER IF EXISTS stats_change_accounts_update")
    op.execute("CREATE TRIGGER stats_change_accounts_update AFTER UPDATE OF disabled_at ON "
               "accounts WHEN OLD.disabled_at IS NOT NEW.disabled_at "
               f"BEGIN {_insert('accounts', *ACCOUNT_DELETED, 'NEW', finer=finer)} END")


def _triggers(captured, *, finer):
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_functions(captured, finer=finer)
    else:
        _sqlite_triggers(captured, finer=finer)


def upgrade():
    # plain ALTER TABLE on both databases: SQLite's batch mode would rebuild the table,
    # and renaming it back fails while other tables' triggers name it
    op.add_column('stats_changes', sa.Column('source', sa.String(length=24), nullable=True))
    op.add_column('stats_changes', sa.Column(
        'row_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
    op.create_table(
        'stats_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('figure', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_keys')),
        sa.UniqueConstraint('figure', 'key', name=op.f('uq_stats_keys_figure')),
    )
    op.create_table(
        'stats_registration_keys',
        sa.Column('registration_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('keys', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('registration_id', name=op.f('pk_stats_registration_keys')),
    )
    op.create_index(op.f('ix_stats_registration_keys_account_id'), 'stats_registration_keys',
                    ['account_id'])
    op.create_table(
        'stats_key_rows',
        sa.Column('registration_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('figure', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('item', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=False, nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('registration_id', 'figure', 'key', 'item',
                                name=op.f('pk_stats_key_rows')),
    )
    op.drop_table('stats_person_keys')
    _triggers(CAPTURED, finer=True)
    op.execute("UPDATE stats_snapshots SET method = ''")


def downgrade():
    _triggers(BEFORE, finer=False)
    op.create_table(
        'stats_person_keys',
        sa.Column('account_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('figure', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint('account_id', 'figure', 'key', name=op.f('pk_stats_person_keys')),
    )
    op.drop_table('stats_key_rows')
    op.drop_index(op.f('ix_stats_registration_keys_account_id'),
                  table_name='stats_registration_keys')
    op.drop_table('stats_registration_keys')
    op.drop_table('stats_keys')
    op.drop_column('stats_changes', 'row_id')
    op.drop_column('stats_changes', 'source')
    op.execute("UPDATE stats_snapshots SET method = ''")
