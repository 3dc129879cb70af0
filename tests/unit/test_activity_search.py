"""The nationwide activity search: only sessions still to come of visible projects of public
sites, each filter narrowing exactly, date order continued by keyset, bad input refused."""
from datetime import date

import pytest

from furusato_cms.services.activity_search import ActivityQuery, ActivitySearch
from furusato_cms.services.errors import InvalidInput
from furusato_cms.services.paging import BadCursor

from ..activity_search_factories import make_country
from ..conftest import NOW


@pytest.fixture
def country(dbsession):
    return make_country(dbsession)


@pytest.fixture
def search(dbsession, clock, app_settings):
    return ActivitySearch(dbsession, clock=clock, settings=app_settings)


def found(search, country, **kw) -> list:
    names = {s.id: name for name, s in country.sessions.items()}
    return [names[hit.session.id] for hit in search.search(ActivityQuery(**kw), limit=50).items]


def test_upcoming_public_sessions_in_date_order(search, country):
    assert found(search, country) == ["apple_soon", "snow", "craft_online", "akagi",
                                      "apple_later"]


def test_keyword_matches_title_summary_and_town_case_and_width_blind(search, country):
    assert found(search, country, keyword="りんご") == ["apple_soon", "apple_later"]
    assert found(search, country, keyword="農園") == ["apple_soon", "apple_later"]
    assert found(search, country, keyword="ｃｒａｆｔ") == ["craft_online"]
    assert found(search, country, keyword="松本市") == ["craft_online"]
    assert found(search, country, keyword="長野市 雪かき") == ["snow"]
    assert found(search, country, keyword="100%") == []


def test_prefecture_theme_mode_premium_and_places(search, country):
    assert found(search, country, prefecture="10") == ["akagi"]
    assert found(search, country, prefecture="20") == ["apple_soon", "snow", "craft_online",
                                                       "apple_later"]
    assert found(search, country, tag="snow_removal") == ["snow"]
    assert found(search, country, mode="online") == ["craft_online"]
    assert "craft_online" not in found(search, country, mode="onsite")
    assert "snow" not in found(search, country, designated=True)
    assert "apple_soon" not in found(search, country, places_left=True)
    hits = search.search(ActivityQuery(keyword="りんご")).items
    assert [hit.places_left for hit in hits] == [0, None]
    assert hits[0].site.name == "長野市" and hits[0].project.title == "りんご収穫の手伝い"


def test_date_range_in_japan_days(search, country):
    assert NOW.isoformat() == "2026-11-25T03:00:00+00:00"  # 12:00 in Japan
    assert found(search, country, date_from=date(2026, 11, 30), date_to=date(2026, 12, 4)) == [
        "snow", "craft_online", "akagi"]
    assert found(search, country, date_to=date(2026, 11, 27)) == ["apple_soon"]
    assert found(search, country, date_to=date(2026, 11, 26)) == []
    assert found(search, country, date_from=date(2020, 1, 1)) == found(search, country)


def test_keyset_pages_cover_everything_once(search, country):
    seen, cursor = [], None
    while True:
        page = search.search(ActivityQuery(), cursor=cursor, limit=2)
        seen += [hit.session.id for hit in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [hit.session.id for hit in search.search(ActivityQuery(), limit=50).items]
    with pytest.raises(BadCursor):
        search.search(ActivityQuery(), cursor="not-a-cursor")


@pytest.mark.parametrize("kw,field", [
    ({"prefecture": "99"}, "prefecture"), ({"tag": "nope"}, "tag"), ({"mode": "both"}, "mode"),
    ({"date_from": date(2026, 12, 2), "date_to": date(2026, 12, 1)}, "to"),
    ({"keyword": "あ" * 101}, "q"),
])
def test_bad_queries_name_their_field(search, country, kw, field):
    with pytest.raises(InvalidInput) as refused:
        search.search(ActivityQuery(**kw))
    assert refused.value.field == field


def test_featured_are_designated_with_places_one_per_project(search, country):
    titles = [hit.project.title for hit in search.featured(limit=3)]
    assert titles == ["Craft fair helpers", "赤城山の植樹", "りんご収穫の手伝い"]


def test_a_session_added_online_through_the_service_is_found_online(
        dbsession, clock, app_settings, search, country):
    from datetime import timedelta

    from furusato_cms.services.audit import Actor
    from furusato_cms.services.projects import ProjectService

    from ..factories import make_staff
    staff = make_staff(dbsession, country.nagano, "coordinator")
    session = ProjectService(dbsession, clock=clock, settings=app_settings).add_session(
        Actor(account_id=staff.id, label=staff.email, client_addr="127.0.0.1"), country.apple,
        starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=3, hours=1),
        place="Zoom", online=True)
    assert session.online
    hits = search.search(ActivityQuery(mode="online"), limit=50).items
    assert [hit.session.id for hit in hits] == [session.id, country.sessions["craft_online"].id]
