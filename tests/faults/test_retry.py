"""A transaction that loses a race — a serialization failure (40001) or a deadlock
(40P01) — is run again by pyramid_retry, whether the error comes from a statement in the
view or from the COMMIT after it, and the lost attempt is not logged as an error.

The failure is forced once by a trigger on the sign-in's new session row: an ordinary
trigger fails the INSERT (during the view's flush), a deferred constraint trigger fails
the COMMIT. A sequence counts the attempts, since it is the one thing a rollback keeps."""
import logging

import pytest
from sqlalchemy import func, select, text

from furusato_cms.models import AuthSession
from furusato_cms.security import AUTH_COOKIE

from ..auth_factories import submit_signin
from ..concurrency.support import POSTGRESQL_ONLY
from ..factories import make_account
from .support import app_for, client, drop_database, own_database_url, seed

pytestmark = POSTGRESQL_ONLY

FAIL_ONCE = """
CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('attempts') <= {failures} THEN
    RAISE EXCEPTION 'lost a race (forced by the test)' USING ERRCODE = '{sqlstate}';
  END IF;
  RETURN NULL;
END $$
"""
TRIGGERS = {
    "statement": "CREATE TRIGGER fail_once AFTER INSERT ON auth_sessions "
                 "FOR EACH ROW EXECUTE FUNCTION fail_once()",
    "commit": "CREATE CONSTRAINT TRIGGER fail_once AFTER INSERT ON auth_sessions "
              "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_once()",
}


@pytest.fixture(scope="module")
def database(worker_id_name, tmp_path_factory):
    url = own_database_url(f"{worker_id_name}_faults_retry", tmp_path_factory)
    seed(url, lambda session: make_account(session, "staff@example.jp"))
    yield url
    drop_database(url)


@pytest.fixture
def app(database):
    app = app_for(database)
    yield app
    app.registry["db_engine"].dispose()


def _install(engine, sqlstate, where, failures=1):
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER IF EXISTS fail_once ON auth_sessions"))
        connection.execute(text("DROP FUNCTION IF EXISTS fail_once()"))
        connection.execute(text("DROP SEQUENCE IF EXISTS attempts"))
        connection.execute(text("CREATE SEQUENCE attempts"))
        connection.execute(text(FAIL_ONCE.format(sqlstate=sqlstate, failures=failures)))
        connection.execute(text(TRIGGERS[where]))


@pytest.mark.parametrize("where", ["statement", "commit"])
@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_a_lost_race_is_retried_and_not_logged_as_an_error(app, sqlstate, where, caplog):
    engine = app.registry["db_engine"]
    _install(engine, sqlstate, where)
    browser = client(app)
    with caplog.at_level(logging.INFO):
        answer = submit_signin(browser, "staff@example.jp")
    assert answer.status_int in (302, 303), answer.status
    assert AUTH_COOKIE in browser.cookies
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT last_value FROM attempts")) == 2
        assert connection.scalar(select(func.count()).select_from(AuthSession)) >= 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("retrying POST /signin" in r.getMessage() for r in caplog.records)


def test_a_race_lost_on_every_attempt_ends_in_503_not_500(app):
    engine = app.registry["db_engine"]
    _install(engine, "40001", "commit", failures=100)
    answer = submit_signin(client(app), "staff@example.jp", status="*")
    assert answer.status_int == 503
    assert "Retry-After" in answer.headers
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT last_value FROM attempts")) == 3  # retry.attempts
