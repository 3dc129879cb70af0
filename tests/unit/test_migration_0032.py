"""Revision 0032: registrations and attendances become hash partitions by account_id on
PostgreSQL with their rows, keys, indexes and statistics triggers; the uniqueness rules
stay database constraints; foreign keys that cannot name (id, account_id) become
triggers that still refuse an orphan and still cascade; and the way down gives back the
plain tables with every row and key. A no-op on SQLite."""
import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from furusato_cms.models import Attendance, Registration, RegistrationEvent

from ..activity_factories import make_attendance, make_project, make_session
from ..dbsetup import is_postgresql, migrate_to, scratch_database
from ..factories import NAGANO_CITY, NAGANO_PREF, T0, make_site
from ..notification_factories import make_person, register

pytestmark = pytest.mark.skipif(not is_postgresql(), reason="partitions are PostgreSQL's")
BEFORE, AFTER = "0031_member_invitations", "0032_partitioned_tables"


LATER_COLUMNS = "ALTER TABLE content_items {} COLUMN body_html"
"""Today's models write a column a later revision (0033) adds: it is there only while
the rows are written."""


def _fill(engine) -> dict:
    with engine.begin() as connection:
        connection.execute(text(LATER_COLUMNS.format("ADD") + " text"))
    try:
        return _fill_rows(engine)
    finally:
        with engine.begin() as connection:
            connection.execute(text(LATER_COLUMNS.format("DROP")))


def _fill_rows(engine) -> dict:
    with Session(engine) as db:
        city, prefecture = make_site(db, NAGANO_CITY), make_site(db, NAGANO_PREF)
        people = [make_person(db, f"p{n}@example.jp", city) for n in range(6)]
        own = db.scalar(select(Registration).where(Registration.account_id == people[0].id))
        derived = register(db, people[0], prefecture)
        derived.derived_from_id = own.id
        db.add(RegistrationEvent(registration_id=own.id, kind="joined", at=T0, detail={}))
        session = make_session(db, make_project(db, city), T0)
        for person in people:
            make_attendance(db, session, person)
        db.commit()
        return {"people": [p.id for p in people], "own": own.id, "session": session.id}


def _kind(engine, table) -> str:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT relkind FROM pg_class WHERE relname = :t"),
                                 {"t": table})


def _counts(engine) -> tuple:
    with Session(engine) as db:
        return tuple(db.scalar(select(func.count()).select_from(model))
                     for model in (Registration, Attendance, RegistrationEvent))


def _refused(engine, match, statement, **params):
    with engine.connect() as connection:
        with pytest.raises(DBAPIError, match=match):
            connection.execute(text(statement), params)


def _again(engine, table, conflict="") -> str:
    """INSERT a copy of one person's rows (every column but the id)."""
    columns = ", ".join(c["name"] for c in inspect(engine).get_columns(table)
                        if c["name"] != "id")
    return (f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} "
            f"WHERE account_id = :a {conflict}")


def test_partitions_keep_rows_keys_and_rules_and_come_back(tmp_path):
    with scratch_database("furusato_migration_0032", tmp_path) as engine:
        migrate_to(engine, "upgrade", BEFORE)
        ids = _fill(engine)
        before = _counts(engine)

        migrate_to(engine, "upgrade", AFTER)
        assert (_kind(engine, "registrations"), _kind(engine, "attendances")) == ("p", "p")
        assert _kind(engine, "registrations_p15") == "r"
        assert _counts(engine) == before
        person, session = ids["people"][1], ids["session"]
        _refused(engine, "duplicate key", _again(engine, "attendances"), a=person)
        _refused(engine, "duplicate key", _again(engine, "registrations"), a=person)
        _refused(engine, "no such row in registrations",
                 "INSERT INTO registration_events (registration_id, kind, at, detail) "
                 "VALUES (999999, 'joined', now(), '{}')")
        with engine.begin() as connection:
            inserted = connection.execute(text(_again(
                engine, "attendances", "ON CONFLICT (session_id, account_id) DO NOTHING")),
                {"a": person}).rowcount
            assert inserted == 0
            triggers = connection.scalars(text(
                "SELECT tgrelid::regclass::text FROM pg_trigger "
                "WHERE tgname = 'stats_change' AND tgrelid::regclass::text IN "
                "('registrations', 'attendances')")).all()
            assert sorted(triggers) == ["attendances", "registrations"]
            connection.execute(text("DELETE FROM registrations WHERE derived_from_id = :r"),
                               {"r": ids["own"]})
            connection.execute(text("DELETE FROM registrations WHERE id = :r"),
                               {"r": ids["own"]})
        assert _counts(engine)[2] == before[2] - 1

        migrate_to(engine, "downgrade", BEFORE)
        assert _kind(engine, "registrations") == "r" and _kind(engine, "registrations_p00") is None
        assert _counts(engine) == (before[0] - 2, before[1], before[2] - 1)
        keys = {fk["name"] for fk in inspect(engine).get_foreign_keys("registration_events")}
        assert keys == {"fk_registration_events_registration_id_registrations"}
        assert inspect(engine).get_pk_constraint("attendances")["constrained_columns"] == ["id"]
        migrate_to(engine, "upgrade", AFTER)
        assert _kind(engine, "attendances") == "p"
