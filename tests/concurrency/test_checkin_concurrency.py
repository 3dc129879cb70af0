"""Check-ins at the same moment on real concurrent PostgreSQL connections, with committed
data in a database of their own: attendance is never doubled and never lost.

Each worker thread waits at a barrier, then opens its own session (the pool holds
``support.POOL_SIZE`` connections, so that many transactions run truly side by side and the
rest queue for a connection), checks in and commits."""
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import Account, Attendance
from furusato_cms.services.attendance import AttendanceService

from ..attendance_factories import make_checkin_world
from ..conftest import NOW
from ..registrant_factories import make_registrant
from .support import POSTGRESQL_ONLY, run_at_once

pytestmark = POSTGRESQL_ONLY

SETTINGS = AppSettings(session_secret="test-secret", base_url="http://localhost")


@pytest.fixture
def engine(own_database):
    return own_database.engine


def committed_world(engine, name, people):
    """A public session happening now and ``people`` registrant accounts, committed."""
    with Session(engine) as setup:
        world = make_checkin_world(setup, NOW, title=name)
        account_ids = [make_registrant(setup, f"{name}-{i}@example.jp").id
                       for i in range(people)]
        token = AttendanceService(setup, clock=FixedClock(NOW), settings=SETTINGS
                                  ).tokens.token_for(world.session)
        session_id = world.session.id
        setup.commit()
    return session_id, token, account_ids


def check_in_at_once(engine, token, account_ids):
    """One thread per account id, all released together; returns (statuses, errors)."""
    def check_in(session, account_id):
        service = AttendanceService(session, clock=FixedClock(NOW), settings=SETTINGS)
        result = service.check_in(session.get(Account, account_id), token)
        session.commit()
        return result.status

    return run_at_once(engine, check_in, account_ids)


def rows_of(engine, session_id):
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Attendance)
                                 .where(Attendance.session_id == session_id))


def test_fifty_scans_of_one_person_leave_one_row(engine):
    session_id, token, [person] = committed_world(engine, "same-person", 1)
    statuses, errors = check_in_at_once(engine, token, [person] * 50)
    assert errors == []
    assert sorted(statuses) == ["already"] * 49 + ["recorded"]
    assert rows_of(engine, session_id) == 1


def test_two_hundred_people_at_once_are_all_recorded(engine):
    session_id, token, people = committed_world(engine, "many-people", 200)
    statuses, errors = check_in_at_once(engine, token, people)
    assert errors == []
    assert statuses == ["recorded"] * 200
    assert rows_of(engine, session_id) == 200
