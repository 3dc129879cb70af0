"""Load faults: when every pooled connection is taken, a page waits at most the pool
time-out and answers 503; a table lock held elsewhere costs a page at most the lock
time-out (503), never a frozen thread; and the time-outs are set per connection, longer
for the console jobs than for web requests."""
import threading
import time

import pytest
from sqlalchemy import text

from furusato_cms.scripts.common import db_transaction

from ..concurrency.support import needs_postgresql
from ..conftest import base_settings
from ..factories import NAGANO_CITY, make_site
from .checks import assert_unavailable
from .support import app_for, client, drop_database, own_database_url, seed


@pytest.fixture(scope="module")
def database(worker_id_name, tmp_path_factory):
    url = own_database_url(f"{worker_id_name}_faults_load", tmp_path_factory)
    seed(url, lambda session: make_site(session, NAGANO_CITY))
    yield url
    drop_database(url)


def test_pool_exhaustion_is_503_within_the_pool_timeout(database):
    app = app_for(database, **{"sqlalchemy.pool_size": "1", "sqlalchemy.max_overflow": "0",
                               "sqlalchemy.pool_timeout": "1"})
    engine = app.registry["db_engine"]
    visitor = client(app)
    try:
        assert visitor.get(f"/s/{NAGANO_CITY}/").status_int == 200
        with engine.connect():  # the only connection, taken by someone else
            started = time.monotonic()
            assert_unavailable(visitor.get(f"/s/{NAGANO_CITY}/", status="*"))
            assert_unavailable(visitor.get("/healthz", status="*"))
            assert time.monotonic() - started < 5
        assert visitor.get(f"/s/{NAGANO_CITY}/").status_int == 200
    finally:
        engine.dispose()


@needs_postgresql
def test_a_held_table_lock_costs_pages_the_lock_timeout_not_a_frozen_thread(database):
    app = app_for(database, **{"furusato.db_lock_timeout_seconds": "1",
                               "furusato.db_statement_timeout_seconds": "2"})
    engine = app.registry["db_engine"]
    paths = [f"/s/{NAGANO_CITY}/", "/", f"/s/{NAGANO_CITY}/posts/", f"/s/{NAGANO_CITY}/"]
    answers = [None] * len(paths)

    def fetch(index, path):
        started = time.monotonic()
        page = client(app).get(path, status="*")
        answers[index] = (page, time.monotonic() - started)

    locker = engine.connect()
    try:
        locker.execute(text("LOCK TABLE sites IN ACCESS EXCLUSIVE MODE"))
        threads = [threading.Thread(target=fetch, args=pair) for pair in enumerate(paths)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        locker.rollback()
        locker.close()
    try:
        for page, seconds in answers:
            assert_unavailable(page)
            assert seconds < 4, f"a page waited {seconds:.1f} s behind the lock"
        assert client(app).get(f"/s/{NAGANO_CITY}/").status_int == 200
    finally:
        engine.dispose()


def _limits(connection):
    return (connection.scalar(text("SHOW statement_timeout")),
            connection.scalar(text("SHOW lock_timeout")))


@needs_postgresql
def test_web_requests_and_jobs_get_their_own_time_outs(database):
    app = app_for(database)
    engine = app.registry["db_engine"]
    try:
        with engine.connect() as connection:
            assert _limits(connection) == ("10s", "3s")
    finally:
        engine.dispose()
    with db_transaction(base_settings(database)) as (session, _settings):
        assert _limits(session) == ("10min", "1min")
