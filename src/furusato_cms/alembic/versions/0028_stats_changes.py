"""incremental statistics: a change log written by triggers, and each person's national keys

Every table a statistic reads gets an AFTER row trigger that appends to ``stats_changes``
the site (and, where it is about a person, the account) the row belongs to — in the
writer's own transaction, so a change and its record commit or roll back together, and no
writer can forget it. The table is append-only (no unique key), so concurrent check-ins at
one site never wait for each other on it. ``stats_person_keys`` holds what each person
adds to the nation's real-people figures, so a refresh corrects those by difference.

A site moving to another prefecture or a session moving to another project is not
captured (neither happens in the product); the full rebuild (``--full``) covers them.

Revision ID: 0028_stats_changes
Revises: 0027_kept_uploads
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0028_stats_changes'
down_revision = '0027_kept_uploads'
branch_labels = None
depends_on = None

REGISTRATION_SITE = "(SELECT site_id FROM registrations WHERE id = {row}.registration_id)"
CAPTURED = {
    # table: (the row's site, the row's person), as SQL over the row ({row}: NEW or OLD)
    "registrations": ("{row}.site_id", "{row}.account_id"),
    "identity_verifications": ("NULL", "{row}.account_id"),
    "attendances": ("{row}.site_id", "NULL"),
    "registration_events": (REGISTRATION_SITE, "NULL"),
    "survey_answers": (REGISTRATION_SITE, "NULL"),
    "premium_applications": ("{row}.site_id", "NULL"),
    "support_applications": ("{row}.site_id", "NULL"),
    "survey_questions": ("{row}.site_id", "NULL"),
}
ACCOUNT_DELETED = ("NULL", "{row}.id")
"""accounts: only a change of ``disabled_at`` (deleting an account) matters."""


def _values(site, account, row):
    return f"({site.format(row=row)}, {account.format(row=row)})"


def _insert(site, account, row):
    return (f"INSERT INTO stats_changes (site_id, account_id) VALUES "
            f"{_values(site, account, row)};")


def _postgresql_triggers():
    for table, (site, account) in CAPTURED.items():
        op.execute(f"""
            CREATE FUNCTION stats_change_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP <> 'DELETE' THEN {_insert(site, account, 'NEW')} END IF;
              IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND
                 {_values(site, account, 'OLD')} IS DISTINCT FROM {_values(site, account, 'NEW')})
              THEN {_insert(site, account, 'OLD')} END IF;
              RETURN NULL;
            END $$""")
        op.execute(f"CREATE TRIGGER stats_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION stats_change_{table}()")
    op.execute(f"""
        CREATE FUNCTION stats_change_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {_insert(*ACCOUNT_DELETED, 'NEW')} RETURN NULL; END $$""")
    op.execute("CREATE TRIGGER stats_change AFTER UPDATE OF disabled_at ON accounts FOR EACH ROW "
               "WHEN (OLD.disabled_at IS DISTINCT FROM NEW.disabled_at) "
               "EXECUTE FUNCTION stats_change_accounts()")


def _sqlite_triggers():
    for table, (site, account) in CAPTURED.items():
        op.execute(f"CREATE TRIGGER stats_change_{table}_insert AFTER INSERT ON {table} "
                   f"BEGIN {_insert(site, account, 'NEW')} END")
        op.execute(f"CREATE TRIGGER stats_change_{table}_update AFTER UPDATE ON {table} "
                   f"BEGIN {_insert(site, account, 'NEW')} {_insert(site, account, 'OLD')} END")
        op.execute(f"CREATE TRIGGER stats_change_{table}_delete AFTER DELETE ON {table} "
                   f"BEGIN {_insert(site, account, 'OLD')} END")
    op.execute("CREATE TRIGGER stats_change_accounts_update AFTER UPDATE OF disabled_at ON "
               "accounts WHEN OLD.disabled_at IS NOT NEW.disabled_at "
               f"BEGIN {_insert(*ACCOUNT_DELETED, 'NEW')} END")


def upgrade():
    op.create_table(
        'stats_changes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('batch', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_changes')),
    )
    op.create_index(op.f('ix_stats_changes_batch'), 'stats_changes', ['batch'])
    op.create_table(
        'stats_person_keys',
        sa.Column('account_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('figure', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint('account_id', 'figure', 'key', name=op.f('pk_stats_person_keys')),
    )
    with op.batch_alter_table('stats_snapshots') as batch_op:
        batch_op.add_column(sa.Column('method', sa.String(length=10), nullable=False,
                                      server_default=''))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in (*CAPTURED, "accounts"):
            op.execute(f"DROP TRIGGER stats_change ON {table}")
            op.execute(f"DROP FUNCTION stats_change_{table}()")
    else:
        for table in CAPTURED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER stats_change_{table}_{event}")
        op.execute("DROP TRIGGER stats_change_accounts_update")
    with op.batch_alter_table('stats_snapshots') as batch_op:
        batch_op.drop_column('method')
    op.drop_table('stats_person_keys')
    op.drop_index(op.f('ix_stats_changes_batch'), table_name='stats_changes')
    op.drop_table('stats_changes')
