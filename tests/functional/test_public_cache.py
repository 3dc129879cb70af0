"""The cache of anonymous public pages (公開ページのキャッシュ): hits run no SQL, and every
change to what the page shows — a commit here, a scheduled publish, another process's
commit on PostgreSQL — ends the cached copy."""
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import webtest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from furusato_cms import main
from furusato_cms.clock import FixedClock
from furusato_cms.models import Site
from furusato_cms.public_cache import PublicPageCache, StoredPage
from furusato_cms.services.audit import Actor
from furusato_cms.services.publishing import PublishingService

from ..concurrency.support import needs_postgresql, own_database  # noqa: F401 - fixture
from ..conftest import NOW, base_settings
from ..factories import NAGANO_CITY, make_post, make_site

SITE_PAGE = f"/s/{NAGANO_CITY}/"


@pytest.fixture(scope="module")
def cached_app(db_url):
    app = main({}, **base_settings(db_url, **{"furusato.public_cache_seconds": "60"}))
    yield app
    app.registry["public_page_cache"].close()


def listening(cache):
    """The cache once it trusts itself (on PostgreSQL: its LISTEN connection is up)."""
    cache.ensure_listening()
    deadline = time.monotonic() + 10
    while not cache.trusted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.trusted
    return cache


@pytest.fixture
def visitor(cached_app, connection, clock):
    listening(cached_app.registry["public_page_cache"])
    return webtest.TestApp(cached_app, extra_environ={
        "HTTP_HOST": "localhost", "furusato.db_connection": connection, "furusato.clock": clock,
    })


@pytest.fixture
def statements(connection):
    """SQL statements sent on the test's connection while the test runs."""
    seen = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", note)
    yield seen
    event.remove(connection, "before_cursor_execute", note)


@pytest.fixture
def city(dbsession):
    site = make_site(dbsession, NAGANO_CITY)
    make_post(dbsession, site, "first", title="最初のお知らせ")
    dbsession.commit()
    return site


def test_a_second_visit_is_served_without_sql(visitor, city, statements):
    first = visitor.get(SITE_PAGE)
    assert "最初のお知らせ" in first.text and statements
    statements.clear()
    second = visitor.get(SITE_PAGE)
    assert statements == []
    assert second.body == first.body
    assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]


def test_a_committed_change_is_shown_at_once(visitor, city, dbsession, clock):
    visitor.get(SITE_PAGE)
    make_post(dbsession, city, "second", title="新しいお知らせ")
    dbsession.commit()
    assert "新しいお知らせ" in visitor.get(SITE_PAGE).text
    city.name = "ながの市"
    dbsession.commit()
    assert "ながの市" in visitor.get(SITE_PAGE).text


def test_a_rolled_back_change_keeps_the_cache(visitor, city, dbsession, statements):
    visitor.get(SITE_PAGE)
    city.name = "取り消される名前"
    dbsession.flush()
    dbsession.rollback()
    statements.clear()
    assert "取り消される名前" not in visitor.get(SITE_PAGE).text
    assert statements == []


def test_a_scheduled_post_appears_at_its_time(visitor, city, dbsession, clock):
    make_post(dbsession, city, "later", title="予約したお知らせ",
              publish_at=NOW + timedelta(hours=1))
    dbsession.commit()
    assert "予約したお知らせ" not in visitor.get(SITE_PAGE).text
    later = FixedClock(NOW + timedelta(hours=1, seconds=1))
    page = visitor.get(SITE_PAGE, extra_environ={"furusato.clock": later})
    assert "予約したお知らせ" in page.text


def test_each_language_has_its_own_copy(visitor, city):
    assert 'lang="ja"' in visitor.get(SITE_PAGE).text
    visitor.set_cookie("_LOCALE_", "en")
    assert 'lang="en"' in visitor.get(SITE_PAGE).text
    visitor.set_cookie("_LOCALE_", "ja")
    assert 'lang="ja"' in visitor.get(SITE_PAGE).text


def test_visitors_with_a_session_are_never_served_from_the_cache(visitor, city, statements):
    visitor.get(SITE_PAGE)
    visitor.set_cookie("furusato_session", "anything")
    statements.clear()
    visitor.get(SITE_PAGE)
    assert statements


def test_pages_that_did_not_opt_in_are_not_cached(visitor, city, statements):
    visitor.get("/signin")
    statements.clear()
    visitor.get(f"/s/{NAGANO_CITY}/no-such-page", status=404)
    visitor.get(f"/s/{NAGANO_CITY}/no-such-page", status=404)
    visitor.get(f"/s/{NAGANO_CITY}/projects/")
    visitor.get(f"/s/{NAGANO_CITY}/projects/")
    assert len([s for s in statements if "FROM sites" in s]) >= 4


def test_publishing_through_the_workflow_ends_the_copy(visitor, city, dbsession, clock,
                                                       app_settings):
    visitor.get(SITE_PAGE)
    draft = make_post(dbsession, city, "draft", state="draft", title="承認待ちの記事")
    dbsession.commit()
    assert "承認待ちの記事" not in visitor.get(SITE_PAGE).text
    PublishingService(dbsession, clock=clock, settings=app_settings).transition(
        Actor.system("test"), draft, "published", may_publish=True)
    dbsession.commit()
    assert "承認待ちの記事" in visitor.get(SITE_PAGE).text


def stored(generation=0, expires_at=NOW + timedelta(minutes=1)):
    return StoredPage("200 OK", (("Content-Type", "text/html"),), b"page", expires_at,
                      generation)


def test_the_cache_forgets_the_least_recently_used_and_the_expired():
    cache = PublicPageCache(max_age=timedelta(minutes=1), max_entries=2, listen_dsn=None)
    cache.put("a", stored())
    cache.put("b", stored())
    assert cache.get("a", NOW) is not None
    cache.put("c", stored())
    assert cache.get("b", NOW) is None and cache.get("a", NOW) is not None
    assert cache.get("c", NOW + timedelta(minutes=2)) is None


def test_a_page_rendered_before_an_invalidation_is_not_kept():
    cache = PublicPageCache(max_age=timedelta(minutes=1), max_entries=10, listen_dsn=None)
    rendered_at = cache.generation
    cache.invalidate()
    cache.put("a", stored(generation=rendered_at))
    assert cache.get("a", NOW) is None and len(cache) == 0


def test_a_cache_that_is_not_listening_serves_nothing():
    cache = PublicPageCache(max_age=timedelta(minutes=1), max_entries=10,
                            listen_dsn="postgresql://nobody@127.0.0.1:1/none")
    cache.put("a", stored())
    assert cache.get("a", NOW) is None


def test_a_closed_cache_serves_nothing():
    cache = PublicPageCache(max_age=timedelta(minutes=1), max_entries=10, listen_dsn=None)
    cache.put("a", stored())
    assert cache.get("a", NOW) is not None
    cache.close()
    assert cache.get("a", NOW) is None


RENAME = """
import sys
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session
import furusato_cms.public_cache
from furusato_cms.models import Site
with Session(create_engine(sys.argv[1])) as session:
    site = session.query(Site).filter_by(code=sys.argv[2]).one()
    site.name = sys.argv[3]
    session.commit()
"""


@needs_postgresql
def test_another_process_commit_reaches_this_process_cache(own_database, request):
    """Only NOTIFY can tell this process: the change is committed by a separate process."""
    with Session(own_database.engine) as session:
        make_site(session, NAGANO_CITY)
        session.commit()
    app = main({}, **base_settings(own_database.url, **{"furusato.public_cache_seconds": "60"}))
    visitor = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost"})
    cache = listening(app.registry["public_page_cache"])
    request.addfinalizer(cache.close)
    assert "長野市" in visitor.get(SITE_PAGE).text and len(cache) == 1
    subprocess.run([sys.executable, "-c", RENAME, own_database.url, NAGANO_CITY, "ながの市"],
                   check=True)
    deadline = time.monotonic() + 10
    while len(cache) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "ながの市" in visitor.get(SITE_PAGE).text
    with Session(own_database.engine) as session:
        assert session.scalar(select(Site.name).where(Site.code == NAGANO_CITY)) == "ながの市"
