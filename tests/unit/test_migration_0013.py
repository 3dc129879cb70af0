"""Migration 0013 on a database that holds attendance: the new ``designated`` column is
back-filled from each project's designation at migration time, is NOT NULL afterwards,
and the downgrade drops it."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import MetaData, inspect, select, text

from furusato_cms.models.meta import Base

from ..dbsetup import migrate_to as migrate
from ..dbsetup import scratch_database

BEFORE, AFTER = "0012_relationship_types", "0013_attendance_designation"
AT = datetime(2026, 6, 1, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path):
    with scratch_database("furusato_migration_0013", tmp_path) as engine:
        yield engine


class OldRows:
    """Rows written into the schema as it stands, with the models' Python defaults for
    every column the values leave out (only the columns the table has at that revision;
    columns later revisions dropped are given in the values)."""

    def __init__(self, connection):
        self.connection = connection
        self.tables = MetaData()
        self.tables.reflect(bind=connection)

    def add(self, table, **values):
        model = Base.metadata.tables[table]
        defaults = {column.name: column.default.arg(None) if column.default.is_callable
                    else column.default.arg
                    for column in model.columns if column.default is not None}
        columns = {column.name for column in self.tables.tables[table].columns}
        row = {name: value for name, value in {**defaults, **values}.items() if name in columns}
        return self.connection.execute(
            self.tables.tables[table].insert().values(row)).inserted_primary_key[0]


def old_world(connection) -> dict:
    """A site with a designated and an undesignated project, a session of each, and a
    person who attended both: ``{project designated: attendance id}``."""
    rows = OldRows(connection)
    site = rows.add("sites", code="202011", name="長野市", kind="municipality",
                    prefecture_code="20", state="active", applied_at=AT, state_changed_at=AT,
                    require_totp=False)
    person = rows.add("accounts", email="old@example.jp", display_name="住民 太郎",
                      kind="registrant", created_at=AT)
    attendance = {}
    for designated in (True, False):
        project = rows.add("content_items", site_id=site, type="project",
                           slug=f"old-{designated}", title="草刈り", state="published",
                           created_at=AT, updated_at=AT)
        rows.add("projects", id=project, designated=designated)
        session = rows.add("activity_sessions", project_id=project, site_id=site,
                           starts_at=AT, ends_at=AT + timedelta(hours=2), created_at=AT)
        attendance[designated] = rows.add(
            "attendances", session_id=session, account_id=person, site_id=site,
            attended_at=AT, recorded_at=AT, source="qr", void_reason="")
    return attendance


def test_upgrade_back_fills_from_the_projects_and_downgrade_drops_the_column(engine):
    migrate(engine, "upgrade", BEFORE)
    with engine.begin() as connection:
        ids = old_world(connection)

    migrate(engine, "upgrade", AFTER)

    with engine.connect() as connection:
        table = MetaData()
        table.reflect(bind=connection, only=["attendances"])
        attendances = table.tables["attendances"]
        stored = {row.id: row.designated for row in connection.execute(
            select(attendances.c.id, attendances.c.designated))}
        [column] = [c for c in inspect(connection).get_columns("attendances")
                    if c["name"] == "designated"]
    assert stored == {ids[True]: True, ids[False]: False}
    assert column["nullable"] is False

    migrate(engine, "downgrade", BEFORE)
    with engine.connect() as connection:
        names = {c["name"] for c in inspect(connection).get_columns("attendances")}
        kept = connection.scalar(text("SELECT count(*) FROM attendances"))
    assert "designated" not in names and kept == 2
