"""Test wiring (after Warehouse and the Pyramid starter):

- one database per xdist worker, on SQLite or on PostgreSQL (FURUSATO_TEST_DB);
- every test runs inside an outer transaction that is rolled back afterwards;
- the app under test joins that transaction through the WSGI environ, so each
  request commits or aborts a SAVEPOINT exactly as pyramid_tm would in production.
"""
import os
from datetime import datetime, timezone

import pytest
import webtest
from sqlalchemy.orm import Session

from furusato_cms import main
from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import get_engine

from .dbsetup import fresh_database_url, migrate

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def base_settings(db_url, **overrides):
    settings = {
        "furusato.db_url": db_url,
        "furusato.session_secret": "test-secret",
        "furusato.themes_dir": os.path.join(HERE, "themes"),
        "furusato.locale_dir": os.path.join(HERE, "locale"),
        "furusato.base_url": "http://localhost",
        "pyramid.default_locale_name": "ja",
    }
    settings.update(overrides)
    return settings


@pytest.fixture(scope="session")
def worker_id_name(request):
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return f"furusato_test_{worker}"


@pytest.fixture(scope="session")
def db_url(worker_id_name, tmp_path_factory):
    url = fresh_database_url(worker_id_name, tmp_path_factory.mktemp("db"))
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(db_url):
    engine = get_engine({"furusato.db_url": db_url})
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine):
    connection = engine.connect()
    outer = connection.begin()
    yield connection
    outer.rollback()
    connection.close()


@pytest.fixture
def dbsession(connection):
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def app_settings():
    return AppSettings.from_settings(base_settings("sqlite://"))


@pytest.fixture(scope="session")
def app(db_url):
    return main({}, **base_settings(db_url))


@pytest.fixture
def testapp(app, connection, clock):
    """A browser-like client: cookies kept, requests joined to the test's transaction."""
    return webtest.TestApp(
        app,
        extra_environ={
            "HTTP_HOST": "localhost",
            "REMOTE_ADDR": "127.0.0.1",
            "furusato.db_connection": connection,
            "furusato.clock": clock,
        },
    )
