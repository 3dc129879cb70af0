"""One registrant sends the same support application form many times at the same moment
(a double click, a flaky network), over HTTP to the real app on real concurrent
PostgreSQL connections: one application is stored, and every answer points at it."""
import threading

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms import main
from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import SupportApplication

from ..conftest import NOW, base_settings
from ..factories import NAGANO_CITY, make_site, sign_in
from ..support_factories import make_applicant, make_measure
from .support import POSTGRESQL_ONLY

pytestmark = POSTGRESQL_ONLY

POSTS = 23  # the review sent 23 and got 23 applications
SETTINGS = AppSettings(session_secret="test-secret", base_url="http://localhost")


@pytest.fixture(scope="module")
def app(own_database):
    return main({}, **base_settings(own_database.url, **{
        "sqlalchemy.pool_size": "20", "sqlalchemy.max_overflow": "0"}))


def browser(app):
    return webtest.TestApp(app, extra_environ={
        "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1",
        "furusato.clock": FixedClock(NOW)})


def test_identical_posts_at_once_store_one_application(app, own_database):
    clock = FixedClock(NOW)
    with Session(own_database.engine) as setup:
        site = make_site(setup, NAGANO_CITY)
        measure = make_measure(setup, site, family="neighbourhood_association", rate=(0, 1))
        person = make_applicant(setup, site)
        first = browser(app)
        sign_in(first, setup, person, clock, SETTINGS)
        path = f"/s/{site.code}/support/{measure.id}/apply"
        setup.commit()
    form = first.get(path).forms["deform"]
    fields = dict(form.submit_fields("apply"))
    cookie = "; ".join(f"{name}={value}" for name, value in first.cookies.items())

    answers, lock = [], threading.Lock()
    barrier = threading.Barrier(POSTS)

    def post():
        client = browser(app)
        barrier.wait(timeout=30)
        response = client.post(path, fields, headers={"Cookie": cookie}, expect_errors=True)
        with lock:
            answers.append((response.status_int, response.headers.get("Location")))

    threads = [threading.Thread(target=post) for _ in range(POSTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    with Session(own_database.engine) as check:
        stored = check.scalars(select(SupportApplication.id)).all()
        assert check.scalar(select(func.count()).select_from(SupportApplication)) == 1
    target = f"http://localhost/my/support#application-{stored[0]}"
    assert answers == [(303, target)] * POSTS
