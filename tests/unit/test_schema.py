"""The schema as Alembic builds it matches the models, and holds its own guarantees."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from furusato_cms.models import AuditEntry
from furusato_cms.models.meta import metadata

from ..dbsetup import is_postgresql
from ..factories import T0


def test_migrations_match_the_models(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    assert compare_metadata(context, metadata) == []


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
