"""the statistics change log written once per statement on PostgreSQL, not once per row

Revisions 0028 and 0034 log every change with an AFTER ROW trigger: a plpgsql call and an
INSERT per row written, and for an event or a survey answer two lookups of its
registration by id alone, each of which reads all 16 partitions of ``registrations``
(revision 0032). Bulk writes paid for it (the import of 100,000 rows, the renewal's
events). Now each of those tables has three AFTER … FOR EACH STATEMENT triggers, one per
event (a trigger with transition tables has one event), each writing the same
``stats_changes`` rows as before with one ``INSERT … SELECT`` over the statement's
transition table:

- INSERT: the new rows' site and person, ``source`` the table, ``row_id`` the row's id;
- UPDATE: the new rows' site and person; and the old ones' where they differ from the
  new row's of the same id (the rule of the row triggers: ``(OLD site, OLD person) IS
  DISTINCT FROM (NEW site, NEW person)``), found by grouping old and new rows by
  ``(id, site, person)`` — an aggregate, never a join the planner could make quadratic
  with a plan cached for a one-row statement;
- DELETE: the old rows' site and person.

An event's or answer's registration is read once per row (site and person together), in
a nested loop by id (a ``LATERAL`` subquery kept from being flattened, so a plan cached
for a small statement never reads the whole table).

Partitioned tables carry the triggers on the parent (PostgreSQL allows transition tables
there and not on partitions), so a statement addressed to a partition directly is not
logged; nothing writes to partitions by name. A row moved to another partition by an
UPDATE of ``account_id`` is logged as an update (new and old row, no ``row_id``), where
the row triggers saw a delete and an insert (with ``row_id``); either way its site is
counted again, and nothing changes a registration's or attendance's person.

``accounts`` keeps its row trigger: it fires only ``WHEN`` ``disabled_at`` changed (a
trigger with a column list cannot have transition tables), which is rare. SQLite keeps
its row triggers (no transition tables there).

Measured on 2026-12-06 on this 2-core machine while another engineer's benchmark ran on
it (so whole-command seconds moved by several seconds between identical runs), 100,000
generated people copied from one template at 0034, then left there or upgraded:
time in the statistics trigger functions (``pg_stat_user_functions``) during the import
of 100,000 rows (80,000 attendance) 0.54-0.61 s → 0.17-0.20 s, during ``furusato-renew``
of 4,958 due registrations 0.50 s → 0.30 s; the whole import 37.4, 46.3, 40.8 s →
44.1, 42.0, 38.9 s, the renewal 5.25, 4.54 s → 4.87, 4.41 s. One 202-row INSERT … SELECT
of events 35-38 ms → 19 ms, one 202-row UPDATE of registrations 11-14 → 8 ms (EXPLAIN
ANALYZE). Not measured at 1 M people.

Revision ID: 0035_stats_statement_triggers
Revises: 0034_stats_registration_keys
Create Date: 2026-12-06 00:00:00
"""
from alembic import op

revision = '0035_stats_statement_triggers'
down_revision = '0034_stats_registration_keys'
branch_labels = None
depends_on = None

OF_REGISTRATION = "registration"
CAPTURED = {
    # table: (the row's site, the row's person), as SQL over the row alias ``x``, or
    # OF_REGISTRATION: those of the registration the row belongs to
    "registrations": ("x.site_id", "x.account_id"),
    "identity_verifications": ("NULL::integer", "x.account_id"),
    "attendances": ("x.site_id", "x.account_id"),
    "registration_events": OF_REGISTRATION,
    "survey_answers": OF_REGISTRATION,
    "premium_applications": ("x.site_id", "NULL::integer"),
    "support_applications": ("x.site_id", "NULL::integer"),
    "survey_questions": ("x.site_id", "NULL::integer"),
}
EVENTS = ("insert", "update", "delete")
NEW_ROWS, OLD_ROWS = "stats_new_rows", "stats_old_rows"


def _keyed(table, rows):
    """SELECT id, site_id, account_id of each row of the transition table ``rows``."""
    captured = CAPTURED[table]
    if captured == OF_REGISTRATION:
        # OFFSET 0 keeps the subquery from being pulled up into a join: one index
        # lookup per row, whatever the plan cached for the first statement expected
        return (f"SELECT x.id, r.site_id, r.account_id FROM {rows} AS x "
                f"LEFT JOIN LATERAL (SELECT site_id, account_id FROM registrations "
                f"WHERE id = x.registration_id OFFSET 0) AS r ON true")
    site, account = captured
    return f"SELECT x.id, {site} AS site_id, {account} AS account_id FROM {rows} AS x"


def _statement(table, event):
    """The one INSERT the ``event`` trigger of ``table`` runs per statement."""
    into = "INSERT INTO stats_changes (site_id, account_id, source, row_id)"
    if event == "insert":
        return (f"{into} SELECT n.site_id, n.account_id, '{table}', n.id "
                f"FROM ({_keyed(table, NEW_ROWS)}) AS n")
    if event == "delete":
        return (f"{into} SELECT o.site_id, o.account_id, '{table}', NULL "
                f"FROM ({_keyed(table, OLD_ROWS)}) AS o")
    # an old row is written when no new row has its id, site and person
    return f"""
        {into}
        WITH n AS MATERIALIZED ({_keyed(table, NEW_ROWS)}),
             o AS ({_keyed(table, OLD_ROWS)})
        SELECT n.site_id, n.account_id, '{table}', NULL::bigint FROM n
        UNION ALL
        SELECT b.site_id, b.account_id, '{table}', NULL::bigint
        FROM (SELECT id, site_id, account_id, true AS old FROM o
              UNION ALL
              SELECT id, site_id, account_id, false FROM n) AS b
        GROUP BY b.id, b.site_id, b.account_id
        HAVING bool_and(b.old)"""


def _referencing(event):
    return {"insert": f"NEW TABLE AS {NEW_ROWS}",
            "update": f"OLD TABLE AS {OLD_ROWS} NEW TABLE AS {NEW_ROWS}",
            "delete": f"OLD TABLE AS {OLD_ROWS}"}[event]


def _statement_triggers():
    for table in CAPTURED:
        op.execute(f"DROP TRIGGER stats_change ON {table}")
        op.execute(f"DROP FUNCTION stats_change_{table}()")
        for event in EVENTS:
            name = f"stats_change_{table}_{event}"
            op.execute(f"""
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  {_statement(table, event)};
                  RETURN NULL;
                END $$""")
            op.execute(f"CREATE TRIGGER stats_change_{event} AFTER {event.upper()} ON {table} "
                       f"REFERENCING {_referencing(event)} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


# -- what revision 0034 left, restored by the downgrade (its text, unchanged) ----------

REGISTRATION_SITE_0034 = "(SELECT site_id FROM registrations WHERE id = {row}.registration_id)"
REGISTRATION_ACCOUNT_0034 = (
    "(SELECT account_id FROM registrations WHERE id = {row}.registration_id)")
CAPTURED_0034 = {
    "registrations": ("{row}.site_id", "{row}.account_id"),
    "identity_verifications": ("NULL", "{row}.account_id"),
    "attendances": ("{row}.site_id", "{row}.account_id"),
    "registration_events": (REGISTRATION_SITE_0034, REGISTRATION_ACCOUNT_0034),
    "survey_answers": (REGISTRATION_SITE_0034, REGISTRATION_ACCOUNT_0034),
    "premium_applications": ("{row}.site_id", "NULL"),
    "support_applications": ("{row}.site_id", "NULL"),
    "survey_questions": ("{row}.site_id", "NULL"),
}


def _values_0034(site, account, row):
    return f"({site.format(row=row)}, {account.format(row=row)})"


def _insert_0034(table, site, account, row, *, inserted=False):
    row_id = f"{row}.id" if inserted else "NULL"
    return (f"INSERT INTO stats_changes (site_id, account_id, source, row_id) VALUES "
            f"({site.format(row=row)}, {account.format(row=row)}, '{table}', {row_id});")


def _row_triggers():
    for table, (site, account) in CAPTURED_0034.items():
        for event in EVENTS:
            op.execute(f"DROP TRIGGER stats_change_{event} ON {table}")
            op.execute(f"DROP FUNCTION stats_change_{table}_{event}()")
        new = _insert_0034(table, site, account, "NEW")
        inserted = _insert_0034(table, site, account, "NEW", inserted=True)
        old = _insert_0034(table, site, account, "OLD")
        was, now = _values_0034(site, account, "OLD"), _values_0034(site, account, "NEW")
        op.execute(f"""
            CREATE OR REPLACE FUNCTION stats_change_{table}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'INSERT' THEN {inserted}
              ELSIF TG_OP = 'UPDATE' THEN {new}
              END IF;
              IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND
                 {was} IS DISTINCT FROM {now})
              THEN {old} END IF;
              RETURN NULL;
            END $$""")
        op.execute(f"CREATE TRIGGER stats_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION stats_change_{table}()")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _statement_triggers()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _row_triggers()
