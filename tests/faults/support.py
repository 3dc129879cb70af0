"""Scaffolding for the fault tests (障害試験): a PostgreSQL cluster of the test's own that
can be stopped and started under a running app, and the app built against a database.

The cluster is made with the server's own tools (initdb, pg_ctl) in a temporary folder,
listening on a free port of 127.0.0.1 with trust authentication. PostgreSQL refuses to run
as root, so when the tests run as root its commands run as the ``postgres`` user."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest
import webtest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from furusato_cms import main
from furusato_cms.clock import system_clock
from furusato_cms.models import get_engine
from furusato_cms.services.authentication import SessionService
from furusato_cms.security import AUTH_COOKIE

from ..conftest import base_settings
from ..dbsetup import REQUIRE_ALL, drop_database, fresh_database_url, migrate

SERVER_USER = "postgres"


def _bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda path: int(path.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return os.path.dirname(pg_ctl) if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnCluster:
    """``start()``, ``stop()`` and ``url(database)`` of a throw-away PostgreSQL server."""

    def __init__(self):
        self.bin_dir = _bin_dir()
        self.root = tempfile.mkdtemp(prefix="furusato-faults-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, SERVER_USER, SERVER_USER)
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")

    def _run(self, tool, *args):
        command = [os.path.join(self.bin_dir, tool), *args]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self):
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c max_connections=40")
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self):
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop")

    def url(self, database="postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name) -> str:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


def own_cluster_or_skip():
    if _bin_dir() is None:
        message = "the fault tests need PostgreSQL's server programs (initdb, pg_ctl)"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    return OwnCluster()


def own_database_url(name, tmp_path_factory):
    """A freshly migrated database on the configured test server (or SQLite file)."""
    url = fresh_database_url(name, tmp_path_factory.mktemp("faults"))
    migrate(url)
    return url


def seed(url, work):
    """Run ``work(session)`` against the database at ``url`` and commit it."""
    engine = get_engine({"furusato.db_url": url})
    try:
        with Session(engine) as session:
            result = work(session)
            session.commit()
            return result
    finally:
        engine.dispose()


def app_for(url, **settings):
    """The real WSGI app on ``url`` (its own engine and pool, real commits), no page cache."""
    return main({}, **base_settings(url, **settings))


def client(app, token=None):
    browser = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost",
                                                  "REMOTE_ADDR": "127.0.0.1"})
    if token:
        browser.set_cookie(AUTH_COOKIE, token)
    return browser


def live_session_token(session, account) -> str:
    """A signed-in session for ``account`` at the real time (the app under test has no
    fixed clock)."""
    from furusato_cms.appsettings import AppSettings

    settings = AppSettings.from_settings(base_settings("sqlite://"))
    token, _ = SessionService(session, clock=system_clock, settings=settings).start(
        account, "127.0.0.1", second_factor_done=True)
    return token


__all__ = ["OwnCluster", "app_for", "client", "drop_database", "live_session_token",
           "own_cluster_or_skip", "own_database_url", "seed"]
