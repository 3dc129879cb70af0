"""insert_ignoring_duplicates: new rows written as given and their ids returned, rows the
unique key already holds (in the table or earlier in the same call) left alone;
update_rows: each row changed where its whole key matches; among: rows whose columns hold
one of the given tuples. On both databases and across PostgreSQL's statement chunks."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from furusato_cms.models import Attendance
from furusato_cms.services import bulk_sql
from furusato_cms.services.bulk_sql import among, insert_ignoring_duplicates, update_rows

from ..activity_factories import make_attendance, make_project, make_session
from ..factories import make_account, make_site

UNIQUE = ("session_id", "account_id")
RECORDED = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def session_and_people(dbsession):
    site = make_site(dbsession)
    activity = make_session(dbsession, make_project(dbsession, site),
                            datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc))
    people = [make_account(dbsession, f"p{n}@example.jp", kind="registrant")
              for n in range(5)]
    return activity, people


def _row(activity, account):
    return {"session_id": activity.id, "account_id": account.id, "site_id": activity.site_id,
            "attended_at": activity.starts_at, "recorded_at": RECORDED, "source": "import",
            "designated": False}


@pytest.mark.parametrize("chunk", [10_000, 2])
def test_new_rows_are_written_and_duplicates_left(dbsession, session_and_people, chunk,
                                                  monkeypatch):
    monkeypatch.setattr(bulk_sql, "ARRAY_CHUNK", chunk)
    activity, people = session_and_people
    existing = make_attendance(dbsession, activity, people[0], source="staff")
    rows = [_row(activity, person) for person in people] + [_row(activity, people[3])]

    new_ids = insert_ignoring_duplicates(dbsession, Attendance.__table__, rows, UNIQUE)

    assert len(new_ids) == 4 and existing.id not in new_ids
    written = dbsession.execute(
        select(Attendance.account_id, Attendance.source, Attendance.recorded_at,
               Attendance.designated, Attendance.site_id)
        .where(Attendance.id.in_(new_ids)).order_by(Attendance.account_id)).all()
    assert [row.account_id for row in written] == [person.id for person in people[1:]]
    assert {(row.source, row.designated, row.site_id) for row in written} == {
        ("import", False, activity.site_id)}
    assert {row.recorded_at.replace(tzinfo=timezone.utc) for row in written} == {RECORDED}
    dbsession.expire_all()
    assert dbsession.get(Attendance, existing.id).source == "staff"


def test_nothing_to_insert(dbsession):
    assert insert_ignoring_duplicates(dbsession, Attendance.__table__, [], UNIQUE) == []


@pytest.mark.parametrize("chunk", [10_000, 1])
def test_rows_are_updated_where_the_whole_key_matches(dbsession, session_and_people, chunk,
                                                      monkeypatch):
    monkeypatch.setattr(bulk_sql, "ARRAY_CHUNK", chunk)
    activity, people = session_and_people
    rows = [make_attendance(dbsession, activity, person) for person in people[:3]]

    update_rows(dbsession, Attendance.__table__, [
        {"id": rows[0].id, "account_id": people[0].id, "void_reason": "取消", "source": "import"},
        {"id": rows[1].id, "account_id": people[1].id, "void_reason": "重複", "source": "import"},
        {"id": rows[2].id, "account_id": people[0].id, "void_reason": "別人", "source": "import"},
    ], ("id", "account_id"))

    dbsession.expire_all()
    assert [(dbsession.get(Attendance, row.id).void_reason,
             dbsession.get(Attendance, row.id).source) for row in rows] == [
        ("取消", "import"), ("重複", "import"), ("", "staff")]


def test_no_rows_to_update(dbsession):
    update_rows(dbsession, Attendance.__table__, [], ("id",))


def test_among_matches_whole_tuples(dbsession, session_and_people):
    activity, people = session_and_people
    rows = [make_attendance(dbsession, activity, person) for person in people[:3]]
    wanted = [(activity.id, people[0].id), (activity.id, people[2].id),
              (activity.id + 1, people[1].id)]

    found = dbsession.scalars(select(Attendance.id).where(
        among(dbsession, (Attendance.session_id, Attendance.account_id), wanted))).all()

    assert sorted(found) == sorted([rows[0].id, rows[2].id])
