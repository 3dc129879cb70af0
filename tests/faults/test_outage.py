"""A database outage answers 503 (with Retry-After and the security headers) to visitors
and signed-in people alike, /healthz says so too, and the same app recovers when the
database comes back — no restart. The database is a PostgreSQL cluster of the test's own,
stopped and started under the running app."""
import time

import pytest

from ..concurrency.support import POSTGRESQL_ONLY
from ..dbsetup import migrate
from ..factories import NAGANO_CITY, make_account, make_site
from .checks import assert_security_headers, assert_unavailable
from .support import app_for, client, live_session_token, own_cluster_or_skip, seed

pytestmark = POSTGRESQL_ONLY

PAGES = ("/", f"/s/{NAGANO_CITY}/", f"/s/{NAGANO_CITY}/posts/", f"/s/{NAGANO_CITY}/projects/")
SIGNED_IN_PAGES = ("/account", f"/s/{NAGANO_CITY}/", "/")


@pytest.fixture(scope="module")
def cluster():
    own = own_cluster_or_skip()
    own.start()
    yield own
    own.remove()


@pytest.fixture(scope="module")
def outage_app(cluster):
    url = cluster.create_database("furusato_outage")
    migrate(url)

    def content(session):
        make_site(session, NAGANO_CITY)
        return live_session_token(session, make_account(session, "staff@example.jp"))

    token = seed(url, content)
    app = app_for(url, **{"sqlalchemy.pool_timeout": "2"})
    yield app, token
    app.registry["db_engine"].dispose()


def all_answer(app, token, status):
    visitor, person = client(app), client(app, token)
    pages = [visitor.get(path, status="*") for path in PAGES]
    pages += [person.get(path, status="*") for path in SIGNED_IN_PAGES]
    pages.append(visitor.get("/healthz", status="*"))
    return [page for page in pages if page.status_int != status]


def test_outage_is_503_and_the_same_app_recovers(cluster, outage_app):
    app, token = outage_app
    assert all_answer(app, token, 200) == []

    cluster.stop()
    try:
        visitor, person = client(app), client(app, token)
        for path in PAGES:
            assert_unavailable(visitor.get(path, status="*"))
        for path in SIGNED_IN_PAGES:
            page = person.get(path, status="*")
            assert_unavailable(page)
            assert page.headers["Cache-Control"] == "no-store"
        health = visitor.get("/healthz", status="*")
        assert_unavailable(health)
        assert health.json == {"status": "unavailable", "database": "unreachable"}
    finally:
        cluster.start()

    # The pool drops the dead connections the first time it meets one; pages are back
    # within a couple of tries, with no restart.
    deadline = time.monotonic() + 20
    while (failing := all_answer(app, token, 200)) and time.monotonic() < deadline:
        for page in failing:
            assert page.status_int == 503, page.status
        time.sleep(0.2)
    assert failing == []
    assert_security_headers(client(app, token).get("/account"))
