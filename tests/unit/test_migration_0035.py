"""Revision 0035: on PostgreSQL the statistics change log is written by one statement-level
trigger per table and event (transition tables) instead of a row trigger; the rows it
writes are the ones the row triggers of revision 0034 wrote, row for row, for bulk
statements of every kind; the downgrade puts back exactly 0034's functions and triggers.
On SQLite the revision changes nothing."""
from collections import Counter

from sqlalchemy import text
from sqlalchemy.orm import Session

from furusato_cms.models import Attendance

from ..dbsetup import migrate_to, scratch_database
from ..stats_factories import populate

BEFORE, AFTER = "0034_stats_registration_keys", "0035_stats_statement_triggers"
SHIFT = 1_000_000
"""Ids of the rows the workload inserts (given, so both runs insert the same ids)."""


def _attendance_copies(connection):
    """A multi-row INSERT … SELECT ON CONFLICT DO NOTHING (as the import writes): every
    attendance copied to every session of its site, the person's existing ones skipped."""
    columns = [c.name for c in Attendance.__table__.columns
               if c.name not in ("id", "session_id")]
    connection.execute(text(
        f"INSERT INTO attendances (id, session_id, {', '.join(columns)}) "
        f"SELECT {SHIFT} + a.id * 1000 + s.id, s.id, "
        f"{', '.join('a.' + c for c in columns)} "
        "FROM attendances a JOIN activity_sessions s ON s.site_id = a.site_id "
        "ON CONFLICT DO NOTHING"))


def _registrations_moved(connection):
    """Registrations of different people, none of them registered at the target site."""
    target = connection.scalar(text("SELECT max(site_id) FROM registrations"))
    return target, list(connection.scalars(text(
        "SELECT min(r.id) FROM registrations r WHERE r.site_id <> :target AND NOT EXISTS "
        "(SELECT 1 FROM registrations o WHERE o.account_id = r.account_id "
        "AND o.site_id = :target) GROUP BY r.account_id ORDER BY 1 LIMIT 5"),
        {"target": target}))


def _delete_a_registration(connection):
    """A registration and, through revision 0032's cascade, its events and answers: the
    first one nothing else refuses to lose."""
    for (registration_id,) in connection.execute(text(
            "SELECT id FROM registrations ORDER BY id DESC")):
        savepoint = connection.begin_nested()
        try:
            connection.execute(text("DELETE FROM registrations WHERE id = :id"),
                               {"id": registration_id})
        except Exception:
            savepoint.rollback()
            continue
        savepoint.commit()
        return registration_id
    raise AssertionError("no registration could be deleted")


def _workload(connection):
    """Bulk statements on every captured table; the change rows they made."""
    connection.execute(text("DELETE FROM stats_changes"))
    _attendance_copies(connection)
    connection.execute(text(f"UPDATE attendances SET voided_at = attended_at "
                            f"WHERE id % 3 = 0 AND id < {SHIFT}"))
    connection.execute(text(f"DELETE FROM attendances WHERE id > {SHIFT} AND id % 7 = 0"))
    connection.execute(text("UPDATE registrations SET state = 'left', long_stay = true "
                            "WHERE id % 2 = 0"))
    target, moved = _registrations_moved(connection)
    assert len(moved) >= 3
    connection.execute(text(f"UPDATE registrations SET site_id = {target} "
                            f"WHERE id IN ({', '.join(map(str, moved))})"))
    connection.execute(text(
        "INSERT INTO registration_events (id, registration_id, kind, at, detail) "
        f"SELECT {SHIFT} + id, id, 'premium_renewed', registered_at, '{{}}' "
        "FROM registrations"))
    # some events moved to another person's registration: old rows are written too
    connection.execute(text(
        "UPDATE registration_events SET registration_id = "
        "(SELECT min(id) FROM registrations) "
        f"WHERE id > {SHIFT} AND id % 4 = 0"))
    connection.execute(text("UPDATE registration_events SET kind = 'note' "
                            f"WHERE id > {SHIFT} AND id % 4 = 1"))
    connection.execute(text("DELETE FROM survey_answers WHERE id % 2 = 0"))
    connection.execute(text("UPDATE survey_answers SET value = value WHERE id % 2 = 1"))
    connection.execute(text("UPDATE premium_applications SET reason = 'x'"))
    connection.execute(text("UPDATE support_applications SET state = state"))
    connection.execute(text("UPDATE survey_questions SET position = position + 1"))
    connection.execute(text("UPDATE identity_verifications SET gender = 'x'"))
    connection.execute(text("DELETE FROM identity_verifications WHERE id % 5 = 0"))
    connection.execute(text("UPDATE registrations SET state = state WHERE id < 0"))
    deleted = _delete_a_registration(connection)
    logged = Counter(connection.execute(text(
        "SELECT site_id, account_id, source, row_id FROM stats_changes")).all())
    return logged, deleted


def _run(engine):
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            return _workload(connection)
        finally:
            transaction.rollback()


def _definitions(engine):
    """The statistics triggers (partitions' clones too) and their functions, as the
    catalogue prints them."""
    with engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            return set(connection.execute(text(
                "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'stats_change%'")).all())
        triggers = connection.execute(text(
            "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'stats_change%'")).all()
        functions = connection.execute(text(
            "SELECT proname, pg_get_functiondef(oid) FROM pg_proc "
            "WHERE proname LIKE 'stats_change%'")).all()
    return set(triggers) | set(functions)


def test_statement_triggers_write_the_rows_the_row_triggers_wrote(tmp_path):
    with scratch_database("furusato_migration_0035", tmp_path) as engine:
        migrate_to(engine, "upgrade", BEFORE)
        with Session(engine) as db:
            populate(db, seed=3, people=40)
            db.commit()
        before = _definitions(engine)
        by_rows, deleted = _run(engine)

        migrate_to(engine, "upgrade", AFTER)
        postgresql = engine.dialect.name == "postgresql"
        if postgresql:
            with engine.connect() as connection:
                levels = set(connection.execute(text(
                    "SELECT c.relname, t.tgname, (t.tgtype & 1) = 1 FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname LIKE 'stats_change%' AND t.tgparentid = 0")).all())
            assert ("accounts", "stats_change", True) in levels
            assert ("attendances", "stats_change_insert", False) in levels
            assert not [row for row in levels if row[0] != "accounts" and row[2]]
        else:
            assert _definitions(engine) == before
        by_statements, deleted_after = _run(engine)

        assert deleted_after == deleted
        assert by_statements == by_rows
        sources = Counter(source for (_s, _a, source, _r) in by_rows.elements())
        assert set(sources) == {"attendances", "registrations", "registration_events",
                                "survey_answers", "premium_applications",
                                "support_applications", "survey_questions",
                                "identity_verifications"}
        inserted = [key for key in by_rows if key[2] == "attendances" and key[3]]
        assert len(inserted) > 50
        events = [key for key in by_rows if key[2] == "registration_events"]
        assert [key for key in events if key[0] is None and key[3] is not None] == []

        migrate_to(engine, "downgrade", BEFORE)
        assert _definitions(engine) == before
        assert _run(engine) == (by_rows, deleted)
