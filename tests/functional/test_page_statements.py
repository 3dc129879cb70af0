"""The ten most visited pages each send at most six SQL statements (issue 16): the
count is what a page costs whatever the cache does, so it is pinned here."""
from datetime import timedelta

import pytest

from furusato_cms.services.checkin_tokens import CheckinTokens

from ..activity_factories import make_attendance, make_session
from ..attendance_factories import make_checkin_world, make_registered
from ..conftest import NOW
from ..factories import make_post, make_staff, sign_in
from ..statements import statements_during

BUDGET = 6


@pytest.fixture
def world(dbsession):
    world = make_checkin_world(dbsession, NOW, place="中央公民館")
    for n in range(3):
        make_post(dbsession, world.site, f"news-{n}", title=f"お知らせ {n}",
                  published_at=NOW - timedelta(days=n + 1))
    past = make_session(dbsession, world.project, NOW - timedelta(days=7))
    return world, past


def assert_within_budget(dbsession, testapp, path, budget=BUDGET):
    statements = statements_during(dbsession.connection(),
                                   lambda: testapp.get(path, status=200))
    assert len(statements) <= budget, "\n---\n".join(statements)


PUBLIC = {
    # the site directory's page with its count; the featured sessions with their project,
    # site and places; the newest snapshot's national counters
    "/": 3,
    "/activities/": 1,  # the sessions with their project, site and places held
    # the site; the introduction with the header photo; featured projects with their next
    # session; measures; posts with their tags
    "/s/{code}/": 5,
    "/s/{code}/posts/": 2,  # the site; posts with their tags
    "/s/{code}/posts/news-0": 3,  # the site; the post; its tags
    "/s/{code}/projects/{project}": 3,  # the site; the project; sessions with seats
    "/s/{code}/projects/": 2,  # the site; the projects with their partner and coming dates
}


@pytest.mark.parametrize("page", PUBLIC)
def test_public_pages(testapp, dbsession, world, page):
    world, _past = world
    path = page.format(code=world.site.code, project=world.project.id)
    assert_within_budget(dbsession, testapp, path, PUBLIC[page])


def test_the_site_page_is_read_with_its_site(testapp, dbsession, world):
    """On PostgreSQL the site's own page asked for plainly reads its lists in the site's
    statement (resources/site.py); a page number or tag reads them after it."""
    world, _past = world
    plain = statements_during(dbsession.connection(),
                              lambda: testapp.get(f"/s/{world.site.code}/", status=200))
    paged = statements_during(dbsession.connection(),
                              lambda: testapp.get(f"/s/{world.site.code}/?page=1", status=200))
    if dbsession.get_bind().dialect.name == "postgresql":
        assert (len(plain), len(paged)) == (1, 2)
    else:
        assert len(plain) == len(paged) == PUBLIC["/s/{code}/"]


REGISTRANT = ("/my/", "/my/card", "/my/activities", "checkin")
OWN_PAGES = {"/my/": 3, "/my/card": 2, "/my/activities": 2}
"""The person, then one statement of their registrations, verification and due notices
(plus the feed on /my/); on /my/activities, one of their counted attendance."""


@pytest.mark.parametrize("page", REGISTRANT)
def test_registrant_pages(testapp, dbsession, clock, app_settings, world, page):
    world, past = world
    person = make_registered(dbsession, world.site, "person@example.jp", name="住民 太郎")
    make_attendance(dbsession, past, person)
    sign_in(testapp, dbsession, person, clock, app_settings)
    path = ("/checkin/" + CheckinTokens(app_settings).token_for(world.session)
            if page == "checkin" else page)
    assert_within_budget(dbsession, testapp, path)
    if page in OWN_PAGES:
        statements = statements_during(dbsession.connection(),
                                       lambda: testapp.get(path, status=200))
        assert len(statements) <= OWN_PAGES[page], "\n---\n".join(statements)


def test_my_page_is_read_with_the_identity(testapp, dbsession, clock, app_settings, world):
    """On PostgreSQL /my/ asked for plainly reads its lists in the statement that loads
    the signed-in identity (security.py ``read_with_identity``); with a page number, or
    on SQLite, after it."""
    world, _past = world
    person = make_registered(dbsession, world.site, "person@example.jp", name="住民 太郎")
    sign_in(testapp, dbsession, person, clock, app_settings)
    plain = statements_during(dbsession.connection(), lambda: testapp.get("/my/", status=200))
    paged = statements_during(dbsession.connection(),
                              lambda: testapp.get("/my/?page=1", status=200))
    assert world.site.name in testapp.get("/my/").text
    if dbsession.get_bind().dialect.name == "postgresql":
        assert (len(plain), len(paged)) == (1, 2)
    else:
        assert len(plain) == len(paged) == OWN_PAGES["/my/"]


@pytest.mark.parametrize("ended", ["disabled", "timed out"])
def test_what_was_read_with_an_ended_session_is_not_shown(
        testapp, dbsession, clock, app_settings, world, ended):
    """The lists are read with the session's lookup, before it is judged: a session
    that no longer counts signs nobody in, and the lists read with it go nowhere."""
    world, _past = world
    person = make_registered(dbsession, world.site, "person@example.jp", name="住民 太郎")
    sign_in(testapp, dbsession, person, clock, app_settings)
    assert world.site.name in testapp.get("/my/", status=200).text
    if ended == "disabled":
        person.disabled_at = NOW
        dbsession.flush()
    else:
        clock.advance(timedelta(days=400))
    page = testapp.get("/my/", status="*")
    assert page.status_int in (302, 303, 403)
    assert world.site.name not in page.text


def test_staff_attendance_list(testapp, dbsession, clock, app_settings, world):
    world, _past = world
    person = make_registered(dbsession, world.site, "person@example.jp", name="住民 太郎")
    make_attendance(dbsession, world.session, person)
    coordinator = make_staff(dbsession, world.site, "coordinator")
    sign_in(testapp, dbsession, coordinator, clock, app_settings)
    path = (f"/s/{world.site.code}/projects/{world.project.id}/sessions/"
            f"{world.session.id}/attendance")
    # the site, the project and the session (traversal); the person with their
    # memberships; the list; the audit entry of the read
    assert_within_budget(dbsession, testapp, path, 6)


def test_a_page_looks_for_its_template_on_the_search_path_only(testapp, world, monkeypatch):
    """pyramid_jinja2 first tried each renderer name relative to the view's package, a
    miss Jinja2 does not remember: every page searched the disk in vain once."""
    import jinja2.loaders

    world, _past = world
    testapp.get(f"/s/{world.site.code}/", status=200)
    looked_up = []
    original = jinja2.loaders.BaseLoader.load
    monkeypatch.setattr(jinja2.loaders.BaseLoader, "load",
                        lambda self, env, name, globals=None: looked_up.append(name)
                        or original(self, env, name, globals))
    testapp.get(f"/s/{world.site.code}/", status=200)
    assert looked_up == []
