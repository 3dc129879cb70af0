"""/activities/ (public, no JavaScript) and GET /api/v1/activities: the same search, every
filter from the form or the query, paged by cursor, bad input answered 400 with the field."""
from urllib.parse import parse_qs, urlparse

import pytest

from furusato_cms.views import activities as activities_view

from ..activity_search_factories import make_country


@pytest.fixture
def country(dbsession):
    return make_country(dbsession)


def titles(page) -> list:
    return [a.text for a in page.html.select("#results-heading ~ ul.cards h3 a")]


def test_the_page_lists_upcoming_activities_and_filters_by_the_form(testapp, country):
    page = testapp.get("/activities/")
    assert page.html.select_one("form[role=search]") is not None
    assert titles(page) == ["りんご収穫の手伝い", "雪かきボランティア", "Craft fair helpers",
                            "赤城山の植樹", "りんご収穫の手伝い"]
    assert "下書きの活動" not in page.text and "準備中の活動" not in page.text
    assert "満員" in page.text or "キャンセル待ち" in page.text
    form = page.forms[0]
    form["prefecture"] = "20"
    form["tag"] = "festival"
    form["mode"] = "online"
    form["premium"] = True
    result = form.submit()
    assert titles(result) == ["Craft fair helpers"]
    assert "オンライン" in result.text and "松本市" in result.text
    assert titles(testapp.get("/activities/", {"q": "りんご", "places": "1"})) == ["りんご収穫の手伝い"]
    assert titles(testapp.get("/activities/?from=2026-11-30&to=2026-12-04")) == [
        "雪かきボランティア", "Craft fair helpers", "赤城山の植樹"]


def test_next_page_link_continues_the_same_search(testapp, country, monkeypatch):
    monkeypatch.setattr(activities_view, "PAGE_SIZE", 2)
    first = testapp.get("/activities/?prefecture=20")
    assert len(titles(first)) == 2
    link = first.html.select_one("a[rel=next]")["href"]
    assert parse_qs(urlparse(link).query)["prefecture"] == ["20"]
    second = testapp.get(link)
    assert titles(first) + titles(second) == [
        "りんご収穫の手伝い", "雪かきボランティア", "Craft fair helpers", "りんご収穫の手伝い"]
    assert second.html.select_one("a[rel=next]") is None


def test_bad_input_is_shown_at_its_field_not_a_500(testapp, country):
    page = testapp.get("/activities/?from=2026-13-01", status=400)
    assert "年-月-日" in page.html.select_one("#from-error").text
    assert page.html.select_one("#from")["aria-invalid"] == "true"
    page = testapp.get("/activities/?from=2026-12-02&to=2026-12-01", status=400)
    assert page.html.select_one("#to-error") is not None
    testapp.get("/activities/?prefecture=99", status=400)
    testapp.get("/activities/?cursor=garbage", status=400)


def test_the_api_answers_the_same_search(testapp, country):
    body = testapp.get("/api/v1/activities?prefecture=20&premium=true&limit=2").json
    assert [item["title"] for item in body["items"]] == ["りんご収穫の手伝い",
                                                         "Craft fair helpers"]
    first = body["items"][0]
    assert first["site"]["code"] == "202011" and first["counts_toward_premium"] is True
    assert first["session"]["places_left"] == 0 and first["online"] is False
    assert first["url"].endswith(f"/s/202011/projects/{country.apple.id}")
    rest = testapp.get(f"/api/v1/activities?prefecture=20&premium=true&limit=2"
                       f"&cursor={body['next_cursor']}").json
    assert [item["title"] for item in rest["items"]] == ["りんご収穫の手伝い"]
    assert rest["next_cursor"] is None
    online = testapp.get("/api/v1/activities?mode=online").json["items"]
    assert [item["title"] for item in online] == ["Craft fair helpers"]
    dated = testapp.get("/api/v1/activities", {"from": "2026-11-30", "to": "2026-12-04",
                                         "q": "雪かき"}).json
    assert [item["title"] for item in dated["items"]] == ["雪かきボランティア"]


def test_the_api_refuses_bad_values_as_problems(testapp, country):
    for query in ("mode=both", "prefecture=99", "from=2026-13-01", "limit=0"):
        answer = testapp.get(f"/api/v1/activities?{query}", status=400)
        assert answer.content_type == "application/problem+json"
    answer = testapp.get("/api/v1/activities?tag=unknown_tag", status=400)
    assert answer.json["errors"][0]["field"] == "tag"
    answer = testapp.get("/api/v1/activities?from=2026-12-02&to=2026-12-01", status=400)
    assert answer.json["errors"][0]["field"] == "to"
