"""The schema as Alembic builds it matches the models, and holds its own guarantees."""
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from furusato_cms.models import AuditEntry
from furusato_cms.models.meta import metadata

from ..dbsetup import is_postgresql
from ..factories import T0


PARTITIONED = ("registrations", "attendances")
"""Hash-partitioned on PostgreSQL (migration 0032): their keys hold ``account_id`` there."""
PARTITION = re.compile(r"^(registrations|attendances)_p\d+$")


def _not_a_partition(name, type_, parent_names):
    return not (type_ == "table" and PARTITION.match(name or ""))


def _partition_key_difference(diff) -> bool:
    """On PostgreSQL a foreign key to a partitioned table names (id, account_id), or is a
    pair of triggers where the referring table has no account_id (migration 0032)."""
    if not is_postgresql() or diff[0] not in ("add_fk", "remove_fk"):
        return False
    return _partitioned(diff[1].referred_table.name)


def _partitioned(table_name) -> bool:
    """One of the partitioned tables or one of their partitions (a foreign key to a
    partitioned table is also kept by PostgreSQL as one key per partition)."""
    return table_name in PARTITIONED or bool(PARTITION.match(table_name))


def test_migrations_match_the_models(connection):
    context = MigrationContext.configure(connection, opts={
        "compare_type": False, "include_name": _not_a_partition})
    differences = [d for d in compare_metadata(context, metadata)
                   if not _partition_key_difference(d)]
    assert differences == []


def test_every_foreign_key_is_indexed(connection):
    """Joins and cascades on an unindexed foreign key scan the whole table."""
    inspector = inspect(connection)
    missing = []
    for table in metadata.sorted_tables:
        indexed = [tuple(ix["column_names"]) for ix in inspector.get_indexes(table.name)]
        indexed += [tuple(uq["column_names"]) for uq in inspector.get_unique_constraints(table.name)]
        indexed.append(tuple(inspector.get_pk_constraint(table.name)["constrained_columns"]))
        for fk in inspector.get_foreign_keys(table.name):
            cols = tuple(fk["constrained_columns"])
            if _partitioned(fk["referred_table"]):
                cols = cols[:1]
            if not any(ix[: len(cols)] == cols for ix in indexed):
                missing.append((table.name, cols))
    assert missing == []


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entries SET action = 'forged'",
    "DELETE FROM audit_entries",
])
def test_the_database_refuses_to_edit_the_audit_log(dbsession, statement):
    dbsession.add(AuditEntry(at=T0, action="site.approve", actor_label="x"))
    dbsession.flush()
    with pytest.raises(DBAPIError, match="append-only"):
        with dbsession.begin_nested():
            dbsession.execute(text(statement))


@pytest.mark.skipif(not is_postgresql(), reason="SQLite has no TRUNCATE")
def test_postgresql_refuses_to_truncate_the_audit_log(dbsession):
    """Even the tables' owner cannot empty the log in one statement (migration 0017)."""
    dbsession.add(AuditEntry(at=T0, action="site.approve", actor_label="x"))
    dbsession.flush()
    with pytest.raises(DBAPIError, match="append-only"):
        with dbsession.begin_nested():
            dbsession.execute(text("TRUNCATE audit_entries"))
    with pytest.raises(DBAPIError, match="append-only"):
        with dbsession.begin_nested():
            dbsession.execute(text("TRUNCATE audit_entries CASCADE"))


def test_the_orm_refuses_to_edit_the_audit_log(dbsession):
    entry = AuditEntry(at=T0, action="site.approve", actor_label="x")
    dbsession.add(entry)
    dbsession.flush()
    entry.action = "forged"
    with pytest.raises(PermissionError):
        dbsession.flush()
    dbsession.rollback()
