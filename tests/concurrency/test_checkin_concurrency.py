"""Check-ins at the same moment on real concurrent PostgreSQL connections, with committed
data in a database of their own: attendance is never doubled and never lost.

Each worker thread waits at a barrier, then opens its own session (the pool holds
``POOL_SIZE`` connections, so that many transactions run truly side by side and the
rest queue for a connection), checks in and commits."""
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import Account, Attendance, get_engine
from furusato_cms.services.attendance import AttendanceService

from ..attendance_factories import make_checkin_world
from ..conftest import NOW
from ..dbsetup import drop_database, fresh_database_url, is_postgresql, migrate
from ..registrant_factories import make_registrant

pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.skipif(not is_postgresql(), reason="needs concurrent PostgreSQL connections"),
]

POOL_SIZE = 20
SETTINGS = AppSettings(session_secret="test-secret", base_url="http://localhost")


@pytest.fixture(scope="module")
def engine(worker_id_name, tmp_path_factory):
    url = fresh_database_url(worker_id_name + "_concurrency", tmp_path_factory.mktemp("conc"))
    migrate(url)
    engine = get_engine({
        "furusato.db_url": url, "sqlalchemy.pool_size": str(POOL_SIZE),
        "sqlalchemy.max_overflow": "0", "sqlalchemy.pool_timeout": "120",
    })
    yield engine
    engine.dispose()
    drop_database(url)


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
    barrier = threading.Barrier(len(account_ids))
    statuses, errors = [None] * len(account_ids), []

    def check_in(index, account_id):
        try:
            barrier.wait(timeout=30)
            with Session(engine) as session:
                service = AttendanceService(session, clock=FixedClock(NOW), settings=SETTINGS)
                result = service.check_in(session.get(Account, account_id), token)
                session.commit()
            statuses[index] = result.status
        except Exception as exc:  # noqa: BLE001 - every failure is reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=check_in, args=pair) for pair in enumerate(account_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses, errors


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
