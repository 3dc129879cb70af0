"""Check-ins at the same moment on real concurrent PostgreSQL connections, with committed
data in a database of their own: attendance is never doubled and never lost.

Each worker thread waits at a barrier, then opens its own session (the pool holds
``support.POOL_SIZE`` connections, so that many transactions run truly side by side and the
rest queue for a connection), checks in and commits."""
import threading

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms import main
from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import Account, Attendance
from furusato_cms.services.attendance import AttendanceService
from furusato_cms.services.authentication import SessionService

from ..attendance_factories import make_checkin_world
from ..conftest import NOW, base_settings, service_settings
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


@pytest.fixture(scope="module")
def app(own_database, mail_catcher, app_oidc_provider):
    """The whole WSGI application on the module's database: each request's transaction is
    pyramid_tm's own and really commits (no outer test transaction)."""
    return main({}, **base_settings(own_database.url,
                                     **service_settings(mail_catcher, app_oidc_provider)))


def ready_to_tap(app, engine, token, account_ids):
    """For each person, a browser signed in on the check-in page: ``(client, form)``."""
    with Session(engine) as session:
        cookies = [SessionService(session, clock=FixedClock(NOW), settings=SETTINGS)
                   .start(session.get(Account, account_id), "127.0.0.1",
                          second_factor_done=True)[0]
                   for account_id in account_ids]
        session.commit()
    browsers = []
    for cookie in cookies:
        client = webtest.TestApp(app, extra_environ={
            "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1",
            "furusato.clock": FixedClock(NOW)})
        client.set_cookie("furusato_auth", cookie)
        page = client.get(f"/checkin/{token}")
        browsers.append((client, next(form for form in page.forms.values()
                                      if form.action.endswith(token))))
    return browsers


def test_taps_through_the_application_at_once_are_all_committed(app, engine):
    """The recording statement marks the request's transaction as changed, so pyramid_tm
    commits it (an unmarked one would be rolled back with no error): on PostgreSQL it is a
    SELECT over data-modifying CTEs (the row and its webhook events), marked by
    ``models.WRITES``."""
    session_id, token, people = committed_world(engine, "over-http", 30)
    browsers = ready_to_tap(app, engine, token, people)
    barrier, answers, errors = threading.Barrier(len(browsers)), [], []

    def tap(browser):
        try:
            barrier.wait(timeout=30)
            answers.append(browser[1].submit(status=200).text)
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=tap, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(answers) == 30 and all("出席を記録しました" in text for text in answers)
    assert rows_of(engine, session_id) == 30
