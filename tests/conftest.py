"""Test wiring (after Warehouse and the Pyramid starter):

- one database per xdist worker, on SQLite or on PostgreSQL (FURUSATO_TEST_DB);
- every test runs inside an outer transaction that is rolled back afterwards;
- the app under test joins that transaction through the WSGI environ, so each
  request commits or aborts a SAVEPOINT exactly as pyramid_tm would in production.
"""
import os
import tempfile
from datetime import datetime, timezone

import pytest
import webtest
from sqlalchemy.orm import Session

from furusato_cms import main
from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import get_engine

from .dbsetup import drop_database, fresh_database_url, migrate
from .devtools_fixtures import mail_catcher, oidc_provider, running_oidc_provider  # noqa: F401

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def base_settings(db_url, **overrides):
    settings = {
        "furusato.db_url": db_url,
        "furusato.session_secret": "test-secret",
        "furusato.themes_dir": os.path.join(HERE, "themes"),
        "furusato.locale_dir": os.path.join(HERE, "locale"),
        "furusato.base_url": "http://localhost",
        "furusato.card_signing_key_file": os.path.join(
            tempfile.gettempdir(), "furusato-test-card-signing-keys.json"
        ),
        "pyramid.default_locale_name": "ja",
        # Off for the shared test app (tests change rows under it without commits);
        # tests/functional/test_public_cache.py and the browser tests turn it on.
        "furusato.public_cache_seconds": "0",
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
    yield url
    drop_database(url)


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
def catcher(mail_catcher):
    """The session's SMTP catcher, emptied for this test."""
    mail_catcher.clear()
    return mail_catcher


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def app_settings(mail_catcher, app_oidc_provider):
    """The same settings the app under test has, for calling services directly."""
    return AppSettings.from_settings(
        base_settings("sqlite://", **service_settings(mail_catcher, app_oidc_provider))
    )


@pytest.fixture(scope="session")
def app_oidc_provider(tmp_path_factory):
    """The local My Number Card stand-in, its clock frozen at the tests' NOW, with the
    app's callback registered."""
    with running_oidc_provider(
        tmp_path_factory.mktemp("app-oidc"),
        client_id="furusato-app",
        redirect_uris=["http://localhost/my/identity/callback"],
        frozen_time=NOW.isoformat().replace("+00:00", "Z"),
    ) as provider:
        yield provider


def service_settings(mail_catcher, app_oidc_provider):
    """Settings that point the app at the test session's SMTP catcher and OIDC provider."""
    return {
        "furusato.smtp_host": mail_catcher.smtp_host,
        "furusato.smtp_port": str(mail_catcher.smtp_port),
        "furusato.oidc_issuer": app_oidc_provider.issuer,
        "furusato.oidc_client_id": app_oidc_provider.client_id,
        "furusato.oidc_client_key_file": str(app_oidc_provider.private_key_path),
    }


@pytest.fixture(scope="session")
def app(db_url, mail_catcher, app_oidc_provider):
    return main({}, **base_settings(db_url, **service_settings(mail_catcher, app_oidc_provider)))


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
