"""Revision 0032: registrations and attendances become hash partitions by account_id on
PostgreSQL with their rows, keys, indexes and statistics triggers; the uniqueness rules
stay database constraints; foreign keys that cannot name (id, account_id) become
triggers that still refuse an orphan and still cascade; and the way down gives back the
plain tables with every row and key; both ways, the keys and indexes are built while the
old table can still be read. A no-op on SQLite."""
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.engine import Engine
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


BUILD = re.compile(r"CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?(?:\w+\.)?(\w+) "
                   r"|ALTER TABLE (\w+) ADD CONSTRAINT \S+ (?:PRIMARY KEY|UNIQUE|FOREIGN KEY) "
                   r"|CREATE TRIGGER (?!fkt_)\S+ .*? ON (?:\w+\.)?(\w+) ")
"""A key, index or trigger of a moved table (or of its new table, ``<table>__new``): not
the trigger pairs that stand for other tables' keys, which are made with those keys."""
LOCK_NOT_AVAILABLE = "55P03"


def _built(statement):
    """The moved table a statement builds a key, index or trigger of, if it does."""
    match = BUILD.match(statement)
    table = next((name for name in match.groups() if name), "") if match else ""
    table = table.removesuffix("__new")
    return table if table in ("registrations", "attendances") else None


def _goes_through(probe, statement) -> bool:
    """Whether ``statement`` runs at once (True) or waits for a lock past lock_timeout."""
    try:
        probe.execute(text(statement))
        return True
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return False


@contextmanager
def _probing(engine):
    """While migrating: after every statement of the migration that builds a key, index
    or trigger of a moved table, read the table from a second connection (and try a
    write after the first), and read it once more after its DROP TABLE. Each probe waits
    for a lock 200 ms at most, and the locks the migration took are held to its commit,
    so a probe that goes through shows nothing it did so far keeps readers out."""
    url = engine.url.render_as_string(hide_password=False)
    prober = create_engine(url, isolation_level="AUTOCOMMIT")
    seen = {"statements": [], "reads": [], "writes": {}, "after_drop": {}}

    def probe(conn, _cursor, statement, _parameters, _context, _executemany):
        if conn.engine is prober or conn.engine.url.database != engine.url.database:
            return
        statement = " ".join(statement.split())
        seen["statements"].append(statement)
        table = _built(statement)
        dropped = re.fullmatch(r"DROP TABLE (\w+)", statement)
        if table is None and dropped is None:
            return
        with prober.connect() as reader:
            reader.execute(text("SET lock_timeout = '200ms'"))
            if dropped:
                seen["after_drop"][dropped[1]] = _goes_through(
                    reader, f"SELECT count(*) FROM {dropped[1]}")
                return
            seen["reads"].append((statement, _goes_through(
                reader, f"SELECT count(*) FROM {table}")))
            if table not in seen["writes"]:
                seen["writes"][table] = _goes_through(
                    reader, f"UPDATE {table} SET id = id WHERE false")

    event.listen(Engine, "after_cursor_execute", probe)
    try:
        yield seen
    finally:
        event.remove(Engine, "after_cursor_execute", probe)
        prober.dispose()


def _assert_built_while_readable(seen):
    statements, tables = seen["statements"], ("registrations", "attendances")
    for table in tables:
        built = [n for n, s in enumerate(statements) if _built(s) == table]
        kinds = {kind for kind in ("PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "INDEX", "TRIGGER")
                 if any(kind in statements[n] for n in built)}
        assert kinds == {"PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "INDEX", "TRIGGER"}, table
        dropped = statements.index(f"DROP TABLE {table}")
        assert max(built) < dropped, (table, statements[max(built)])
        copied = next(n for n, s in enumerate(statements) if s.startswith(f"INSERT INTO {table}"))
        triggers = [n for n in built if "TRIGGER" in statements[n]]
        assert min(triggers) > copied, "the statistics trigger must not see the copied rows"
        assert seen["writes"][table] is False, f"writes to {table} did not wait for the commit"
        assert seen["after_drop"][table] is False, "the probe cannot see the swap's lock"
    blocked = [statement for statement, went in seen["reads"] if not went]
    assert not blocked, f"reads waited for: {blocked}"
    assert len(seen["reads"]) > 20


def test_reads_go_on_while_keys_and_indexes_are_built_both_ways(tmp_path):
    """The copy locks the old table in SHARE mode: a reader with lock_timeout 200 ms reads
    it after every key, index and trigger is built on the new table (a writer waits); the
    old table is dropped only after all of them, and from then on readers wait."""
    with scratch_database("furusato_migration_0032_reads", tmp_path) as engine:
        migrate_to(engine, "upgrade", BEFORE)
        _fill(engine)
        before = _counts(engine)
        with _probing(engine) as seen:
            migrate_to(engine, "upgrade", AFTER)
        _assert_built_while_readable(seen)
        assert _kind(engine, "registrations") == "p" and _counts(engine) == before
        with _probing(engine) as seen:
            migrate_to(engine, "downgrade", BEFORE)
        _assert_built_while_readable(seen)
        assert _kind(engine, "registrations") == "r" and _counts(engine) == before
