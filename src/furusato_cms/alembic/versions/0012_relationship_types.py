"""relationship types as the national guideline defines them; the declared home

The national common survey asks which of the guideline's four types (関係人口の類型①–④)
apply, so ``registrations.relationship_type`` (one int) becomes
``registrations.relationship_types`` (a JSON list, empty = unanswered). The old labels
meant other things; stored answers are mapped as follows:

- old 1 "contributor" → ③ (3); old 2 "dual residence" → ④ (4); old 3 "from afar" → ① (1);
- old 4 "roots" is no type: the list is left empty (unanswered), the account is flagged
  ``ask_relationship_types`` when that registration is active (the person is asked once,
  on the next visit), and "roots" is kept as a connection: a registration holding none of
  ``birthplace``, ``former_residence``, ``family`` gets ``birthplace`` (the first of them,
  as the old label listed it) put first in its connections.
- ``post_targets.relationship_types``: each value mapped the same way; a target that named
  only "roots" can no longer be expressed and is deleted (the editor must save a target
  again before sending, so it never silently widens to everyone).
- ``monitor_surveys.target_relationship_type``: mapped the same way; a survey aimed at
  "roots" gets no type target, and if it was open it is closed now (so no-one outside the
  old group answers it).
- ``stats_figures`` rows of the ``relationship_type`` figure are deleted: the stored
  numbers counted the old types; the next ``furusato-refresh-stats`` counts the new ones.

It also adds ``accounts.declared_home_code`` (the municipality of the postal code a person
without verified identity declares; at-home detection) and ``accounts.ask_relationship_types``.

Everything is set-based SQL (one statement per step) for SQLite and PostgreSQL. On SQLite
the old column's CHECK constraint is removed with SQLite's documented writable_schema
procedure and the column with ALTER TABLE DROP COLUMN, because rebuilding the table would
cascade-delete the registrations' history and answers (foreign keys are on and cannot be
switched off inside the migration's transaction).

Downgrade maps back as well as it can: a registration's first type in the order ③, ④, ①
gives old 1, 2, 3; ② alone (sightseeing visits) gives old 3 "from afar (… tourism)"; an
empty list gives old 4 "roots". Added ``birthplace`` connections, deleted targets, closed
surveys and deleted figures stay as they are.

Revision ID: 0012_relationship_types
Revises: 0011_identity_match_index
Create Date: 2026-12-04 21:40:00
"""
import re

import sqlalchemy as sa
from alembic import op


revision = '0012_relationship_types'
down_revision = '0011_identity_match_index'
branch_labels = None
depends_on = None

UP = {1: 3, 2: 4, 3: 1}
"""Old type → the guideline's type; old 4 (roots) has none."""
DOWN = {3: 1, 4: 2, 1: 3, 2: 3}
"""The guideline's type → old type, tried in this order."""
ROOTS = ("birthplace", "former_residence", "family")
OLD_CHECK = "ck_registrations_relationship_type"


class _Sql:
    """The few JSON fragments that differ between SQLite and PostgreSQL."""

    def __init__(self, dialect):
        self.pg = dialect == "postgresql"

    def elements(self, column):
        """A FROM item of the array's elements: ``value`` (text on PG) and ``key`` (the
        position)."""
        if self.pg:
            return f"json_array_elements_text({column}) WITH ORDINALITY AS e(value, key)"
        return f"json_each({column})"

    @property
    def value_int(self):
        return "CAST(value AS INTEGER)"

    def json(self, literal):
        return f"CAST('{literal}' AS JSON)" if self.pg else f"'{literal}'"

    def agg(self, expression, order):
        if self.pg:
            return f"json_agg({expression} ORDER BY {order})"
        return f"json_group_array({expression})"

    def has_type(self, column, value):
        return (f"EXISTS (SELECT 1 FROM {self.elements(column)} "
                f"WHERE {self.value_int} = {value})")

    def mapped_list(self, column, mapping):
        """The list with each value mapped (values not in ``mapping`` dropped), ascending."""
        cases = " ".join(f"WHEN {old} THEN {new}" for old, new in mapping.items())
        keys = ", ".join(str(old) for old in mapping)
        return (
            f"(SELECT coalesce({self.agg('m', 'm')}, {self.json('[]')}) FROM ("
            f"SELECT DISTINCT CASE {self.value_int} {cases} END AS m "
            f"FROM {self.elements(column)} WHERE {self.value_int} IN ({keys}) ORDER BY m"
            f") AS mapped)"
        )

    def first_mapped(self, column, mapping, empty, otherwise):
        """The mapped value of the first of ``mapping``'s keys the list holds."""
        cases = " ".join(f"WHEN {self.has_type(column, new)} THEN {old}"
                         for new, old in mapping.items())
        return (f"CASE WHEN json_array_length({column}) = 0 THEN {empty} "
                f"{cases} ELSE {otherwise} END")


def upgrade():
    bind = op.get_bind()
    sql = _Sql(bind.dialect.name)
    op.add_column('accounts', sa.Column('declared_home_code', sa.String(length=6), nullable=True))
    op.add_column('accounts', sa.Column('ask_relationship_types', sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    op.add_column('registrations', sa.Column('relationship_types', sa.JSON(), nullable=False,
                                             server_default='[]'))
    cases = " ".join(f"WHEN {old} THEN {sql.json(f'[{new}]')}" for old, new in UP.items())
    op.execute(f"UPDATE registrations SET relationship_types = "
               f"CASE relationship_type {cases} ELSE {sql.json('[]')} END")
    op.execute("UPDATE accounts SET ask_relationship_types = TRUE WHERE id IN ("
               "SELECT account_id FROM registrations "
               "WHERE relationship_type = 4 AND state = 'active')")
    roots = ", ".join(f"'{key}'" for key in ROOTS)
    op.execute(
        f"UPDATE registrations SET connections = ("
        f"SELECT {sql.agg('v', 'o, k')} FROM ("
        f"SELECT 0 AS o, 0 AS k, '{ROOTS[0]}' AS v UNION ALL "
        f"SELECT 1 AS o, key AS k, value AS v FROM {sql.elements('registrations.connections')} "
        f"ORDER BY o, k) AS joined) "
        f"WHERE relationship_type = 4 AND NOT EXISTS ("
        f"SELECT 1 FROM {sql.elements('registrations.connections')} WHERE value IN ({roots}))"
    )
    _drop_old_column(bind)
    _map_targets(sql, UP, empty_means_roots=True)
    op.execute("DELETE FROM stats_figures WHERE figure = 'relationship_type'")


def _drop_old_column(bind):
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f(OLD_CHECK), 'registrations', type_='check')
        op.drop_column('registrations', 'relationship_type')
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'registrations'"
    ).scalar()
    without = re.sub(rf",\s*CONSTRAINT {OLD_CHECK} CHECK \([^)]*\)", "", table_sql)
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'registrations'",
        (without,),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    bind.exec_driver_sql("ALTER TABLE registrations DROP COLUMN relationship_type")


def _map_targets(sql, mapping, *, empty_means_roots):
    """Post targets and monitor survey targets, mapped with ``mapping``."""
    keys = ", ".join(str(old) for old in mapping)
    if empty_means_roots:
        op.execute(
            f"DELETE FROM post_targets WHERE json_array_length(relationship_types) > 0 "
            f"AND NOT EXISTS (SELECT 1 FROM {sql.elements('post_targets.relationship_types')} "
            f"WHERE {sql.value_int} IN ({keys}))"
        )
        op.execute("UPDATE monitor_surveys SET state = 'closed', closed_at = CURRENT_TIMESTAMP "
                   "WHERE state = 'open' AND target_relationship_type = 4")
    op.execute(
        f"UPDATE post_targets SET relationship_types = "
        f"{sql.mapped_list('post_targets.relationship_types', mapping)} "
        f"WHERE json_array_length(relationship_types) > 0"
    )
    cases = " ".join(f"WHEN {old} THEN {new}" for old, new in mapping.items())
    op.execute(f"UPDATE monitor_surveys SET target_relationship_type = "
               f"CASE target_relationship_type {cases} ELSE NULL END "
               f"WHERE target_relationship_type IS NOT NULL")


def downgrade():
    bind = op.get_bind()
    sql = _Sql(bind.dialect.name)
    check = "relationship_type BETWEEN 1 AND 4"
    if sql.pg:
        op.add_column('registrations', sa.Column(
            'relationship_type', sa.Integer(), nullable=False, server_default='1'))
        op.create_check_constraint(op.f(OLD_CHECK), 'registrations', check)
    else:
        bind.exec_driver_sql(f"ALTER TABLE registrations ADD COLUMN relationship_type INTEGER "
                             f"NOT NULL DEFAULT 1 CONSTRAINT {OLD_CHECK} CHECK ({check})")
    op.execute(f"UPDATE registrations SET relationship_type = "
               f"{sql.first_mapped('relationship_types', DOWN, 4, 3)}")
    if sql.pg:
        op.drop_column('registrations', 'relationship_types')
    else:
        bind.exec_driver_sql("ALTER TABLE registrations DROP COLUMN relationship_types")
    _map_targets(sql, DOWN, empty_means_roots=False)
    op.execute("DELETE FROM stats_figures WHERE figure = 'relationship_type'")
    op.drop_column('accounts', 'ask_relationship_types')
    op.drop_column('accounts', 'declared_home_code')
