"""A municipality's server retries the same attendance (one external_id) many times at the
same moment, over HTTP to the real app on real concurrent PostgreSQL connections: one
attendance and one key are stored, and every answer names that attendance."""
import threading

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms import main
from furusato_cms.clock import FixedClock
from furusato_cms.models import Attendance, AttendanceExternalId, Registration

from ..attendance_factories import make_checkin_world, make_registered
from ..conftest import NOW, base_settings
from ..oauth_factories import bearer, make_client, make_token
from .support import POSTGRESQL_ONLY

pytestmark = POSTGRESQL_ONLY

POSTS = 16


@pytest.fixture(scope="module")
def app(own_database):
    return main({}, **base_settings(own_database.url, **{
        "sqlalchemy.pool_size": "20", "sqlalchemy.max_overflow": "0",
        "furusato.api_rate_per_minute": "1000"}))


def test_one_external_id_sent_at_once_records_one_attendance(app, own_database):
    with Session(own_database.engine) as setup:
        world = make_checkin_world(setup, NOW)
        person = make_registered(setup, world.site, "retry@example.jp")
        registration_id = setup.scalar(select(Registration.id).where(
            Registration.account_id == person.id))
        headers = bearer(make_token(setup, make_client(setup, world.site, kind="confidential"),
                                    scopes=["site.attendance.write"]))
        path = f"/api/v1/sites/{world.site.code}/attendance"
        body = {"external_id": "KOUMIN-2026-0042", "registration_id": registration_id,
                "session_id": world.session.id}
        setup.commit()

    answers, lock = [], threading.Lock()
    barrier = threading.Barrier(POSTS)

    def post():
        client = webtest.TestApp(app, extra_environ={
            "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1",
            "furusato.clock": FixedClock(NOW)})
        barrier.wait(timeout=30)
        response = client.post_json(path, body, headers=headers, expect_errors=True)
        with lock:
            answers.append((response.status_int, response.json.get("id")))

    threads = [threading.Thread(target=post) for _ in range(POSTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    with Session(own_database.engine) as check:
        [stored] = check.scalars(select(Attendance.id)).all()
        assert check.scalar(select(func.count()).select_from(AttendanceExternalId)) == 1
    assert sorted(status for status, _ in answers) == [200] * (POSTS - 1) + [201]
    assert {attendance for _, attendance in answers} == {stored}
