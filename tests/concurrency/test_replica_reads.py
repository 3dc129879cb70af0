"""Public reads from a real streaming standby (読み取りレプリカ): anonymous public pages
read there, signed-in pages read their own writes on the primary, and a standby that
lags or is gone is skipped without an error."""
import time
from datetime import datetime, timezone

import pytest
import webtest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from furusato_cms import main
from furusato_cms.appsettings import AppSettings
from furusato_cms.models import Site, get_engine
from furusato_cms.security import AUTH_COOKIE
from furusato_cms.services.authentication import SessionService

from ..conftest import base_settings
from ..dbsetup import migrate
from ..factories import make_account, make_post, make_site
from .streaming import streaming_pair
from .support import POSTGRESQL_ONLY

pytestmark = POSTGRESQL_ONLY

MAX_LAG = 1.0
CHECK_EVERY = 0.2


@pytest.fixture(scope="module")
def pair():
    with streaming_pair() as pair:
        migrate(pair.primary_url)
        yield pair


@pytest.fixture(scope="module")
def site_code(pair):
    engine = get_engine({"furusato.db_url": pair.primary_url})
    with Session(engine) as session:
        site = make_site(session)
        make_post(session, site, "first", title="最初のお知らせ")
        session.commit()
        code = site.code
    engine.dispose()
    return code


@pytest.fixture(scope="module")
def app(pair, site_code):
    return main({}, **base_settings(
        pair.primary_url, **{"furusato.replica_urls": pair.standby_url,
                             "furusato.replica_max_lag_seconds": str(MAX_LAG),
                             "furusato.replica_check_seconds": str(CHECK_EVERY)}))


@pytest.fixture
def browser(app):
    return webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost",
                                               "REMOTE_ADDR": "127.0.0.1"})


class Counting:
    """Statements sent on each engine while a block runs."""

    def __init__(self, app):
        self.engines = {"primary": app.registry["db_engine"],
                        "standby": app.registry["db_replicas"].engines[0]}
        self.seen = {name: [] for name in self.engines}

    def __enter__(self):
        for name, engine in self.engines.items():
            event.listen(engine, "before_cursor_execute", self._noter(name))
        return self

    def _noter(self, name):
        def note(_conn, _cursor, statement, *_args):
            if "pg_current_wal_lsn" not in statement and "pg_last_wal_replay_lsn" not in statement:
                self.seen[name].append(statement)
        self.seen[name + "_listener"] = note
        return note

    def __exit__(self, *exc):
        for name, engine in self.engines.items():
            event.remove(engine, "before_cursor_execute", self.seen.pop(name + "_listener"))

    def reads_of(self, name, table) -> int:
        return sum(f"FROM {table}" in statement for statement in self.seen[name])


def settle():
    """Longer than the lag allowance and a check interval: the standby is judged anew."""
    time.sleep(MAX_LAG + CHECK_EVERY * 2)


def wait_replayed(pair):
    """Until the standby has replayed everything the primary has written."""
    primary = get_engine({"furusato.db_url": pair.primary_url})
    standby = get_engine({"furusato.db_url": pair.standby_url})
    try:
        with primary.connect() as connection:
            target = connection.scalar(text("SELECT pg_current_wal_lsn()"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with standby.connect() as connection:
                if connection.scalar(text("SELECT pg_last_wal_replay_lsn() >= :t"), {"t": target}):
                    return
            time.sleep(0.05)
        raise AssertionError("the standby did not catch up")
    finally:
        primary.dispose()
        standby.dispose()


def test_anonymous_public_pages_read_from_the_standby(app, browser, pair, site_code):
    wait_replayed(pair)
    settle()
    with Counting(app) as counting:
        page = browser.get(f"/s/{site_code}/", status=200)
        api = browser.get(f"/api/v1/sites/{site_code}/posts", status=200)
    assert "最初のお知らせ" in page.text
    assert [post["title"] for post in api.json["items"]] == ["最初のお知らせ"]
    assert counting.reads_of("standby", "content_items") >= 2
    assert counting.reads_of("primary", "content_items") == 0


def test_pages_that_are_not_public_reads_stay_on_the_primary(app, browser, pair, site_code):
    settle()
    with Counting(app) as counting:
        browser.get("/signin", status=200)
        browser.get("/healthz", status=200)
    assert counting.seen["standby"] == []


def test_a_signed_in_visitor_reads_their_own_writes_from_the_primary(app, pair, site_code):
    engine = get_engine({"furusato.db_url": pair.primary_url})
    now = datetime.now(timezone.utc)
    with Session(engine) as session:
        account = make_account(session, "reader@example.jp", kind="registrant")
        token = SessionService(session, clock=lambda: now,
                               settings=AppSettings(session_secret="test-secret")).start(
            account, "127.0.0.1", second_factor_done=True)[0]
        session.commit()
    engine.dispose()
    browser = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost",
                                                  "REMOTE_ADDR": "127.0.0.1"})
    browser.set_cookie(AUTH_COOKIE, token)
    settle()
    with Counting(app) as counting:
        browser.get(f"/s/{site_code}/", status=200)
    assert counting.reads_of("primary", "content_items") >= 1
    assert counting.reads_of("standby", "content_items") == 0


def test_a_lagging_standby_is_skipped_until_it_catches_up(app, browser, pair, site_code):
    standby = get_engine({"furusato.db_url": pair.standby_url})
    primary = get_engine({"furusato.db_url": pair.primary_url})
    try:
        with standby.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_pause()"))
        with Session(primary) as session:
            site = session.scalar(select(Site).where(Site.code == site_code))
            make_post(session, site, "second", title="二番目のお知らせ")
            session.commit()
        settle()
        with Counting(app) as counting:
            page = browser.get(f"/s/{site_code}/", status=200)
        assert counting.reads_of("standby", "content_items") == 0
        assert "二番目のお知らせ" in page.text
        with standby.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))
        wait_replayed(pair)
        settle()
        with Counting(app) as counting:
            page = browser.get(f"/s/{site_code}/", status=200)
        assert "二番目のお知らせ" in page.text
        assert counting.reads_of("standby", "content_items") >= 1
    finally:
        with standby.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))
        standby.dispose()
        primary.dispose()


def test_a_standby_that_is_gone_falls_back_to_the_primary(app, browser, pair, site_code):
    """Last in the module: it stops the standby."""
    wait_replayed(pair)
    settle()
    browser.get(f"/s/{site_code}/", status=200)  # pooled connections to the standby
    pair.stop_standby()
    with Counting(app) as counting:
        for _ in range(3):
            page = browser.get(f"/s/{site_code}/", status=200)
            assert "最初のお知らせ" in page.text
    assert counting.reads_of("primary", "content_items") >= 3
