"""The open API's public reads: the OpenAPI document, sites, posts, projects and support
measures, cursor paging, and errors as problem details in the caller's language."""
from datetime import timedelta

import pytest
import yaml
from openapi_spec_validator import validate

from ..activity_factories import make_partner, make_project, make_session
from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_post, make_site
from ..support_factories import make_measure

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture
def city(dbsession):
    return make_site(dbsession, NAGANO_CITY, name="長野市", name_kana="ながのし")


def test_the_document_is_valid_openapi_3_1_and_served_as_json_and_yaml(testapp):
    document = testapp.get(f"{API}/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert yaml.safe_load(testapp.get(f"{API}/openapi.yaml").text) == document


def test_the_reference_page_lists_every_operation(testapp):
    document = testapp.get(f"{API}/openapi.json").json
    page = testapp.get("/api/docs")
    for path, item in document["paths"].items():
        for method in item.keys() & {"get", "post", "delete"}:
            assert f"{method.upper()} {API}{path}" in page.text
    assert page.html.find("script") is None or not page.html.find("script").get("src", "")
    for event, item in document["webhooks"].items():
        section = page.html.find(id=f"event-{event}").find_parent("section")
        fields = item["post"]["requestBody"]["content"]["application/json"]["schema"][
            "properties"]["data"]["properties"]
        assert {code.get_text() for code in section.select("li > code")} == set(fields)


def test_sites_are_searched_by_kana_and_prefecture_and_paged_by_cursor(testapp, dbsession,
                                                                       city):
    make_site(dbsession, NAGANO_PREF, name="長野県", name_kana="ながのけん")
    make_site(dbsession, MATSUMOTO, name="松本市", name_kana="まつもとし")
    make_site(dbsession, "202037", name="上田市", name_kana="うえだし", state="applied")
    found = testapp.get(f"{API}/sites", {"q": "ながの"}).json
    assert [s["code"] for s in found["items"]] == [NAGANO_PREF, NAGANO_CITY]
    assert found["next_cursor"] is None
    codes, cursor = [], None
    while True:
        params = {"prefecture": "20", "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = testapp.get(f"{API}/sites", params).json
        codes += [s["code"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert codes == [NAGANO_PREF, NAGANO_CITY, MATSUMOTO]
    assert found["items"][1] == {"code": NAGANO_CITY, "name": "長野市", "name_kana": "ながのし",
                                 "kind": "municipality", "prefecture_code": "20",
                                 "url": f"http://localhost/s/{NAGANO_CITY}/"}


@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"prefecture": "48"}, "prefecture"),
])
def test_bad_parameters_are_problems_naming_the_parameter(testapp, params, field):
    answer = testapp.get(f"{API}/sites", params, status=400)
    assert answer.content_type == PROBLEM
    assert answer.json["status"] == 400 and answer.json["title"] == "使えない値が含まれています"
    assert field in {error.get("field") for error in answer.json["errors"]}


def test_problems_speak_the_callers_language(testapp):
    english = testapp.get(f"{API}/sites", {"cursor": "bm90LWEtY3Vyc29y"}, status=400,
                          headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert english.content_type == PROBLEM and english.json["title"] == "The cursor is not valid"
    assert english.headers["Content-Language"] == "en"
    japanese = testapp.get(f"{API}/sites", {"cursor": "bm90LWEtY3Vyc29y"}, status=400)
    assert japanese.json["title"] == "カーソルが正しくありません"


def test_unknown_and_hidden_sites_and_addresses_are_404_problems(testapp, dbsession, city):
    make_site(dbsession, MATSUMOTO, state="suspended")
    for path in (f"/sites/{MATSUMOTO}", "/sites/999999", "/nothing-here"):
        answer = testapp.get(API + path, status=404)
        assert answer.content_type == PROBLEM and answer.json["status"] == 404
    unknown = testapp.get(f"{API}/sites/999999/posts", status=404).json
    assert unknown["detail"] == "このコードの参加自治体はありません。"
    assert testapp.get(f"{API}/nothing-here", status=404).json["detail"] == (
        "このアドレスに公開されている項目はありません。")


def test_one_site_with_its_introduction_and_contact(testapp, dbsession, city):
    city.contact_department = "ふるさと推進課"
    dbsession.flush()
    site = testapp.get(f"{API}/sites/{NAGANO_CITY}").json
    assert site["introduction"]["title"] and site["contact"]["department"] == "ふるさと推進課"


def test_posts_show_only_what_is_public_newest_first_by_cursor(testapp, dbsession, city):
    for day in range(3):
        post = make_post(dbsession, city, f"news-{day}", title=f"お知らせ{day}")
        post.published_at = NOW - timedelta(days=3 - day)
    make_post(dbsession, city, "draft", state="draft", title="下書き")
    dbsession.flush()
    first = testapp.get(f"{API}/sites/{NAGANO_CITY}/posts", {"limit": 2}).json
    rest = testapp.get(f"{API}/sites/{NAGANO_CITY}/posts",
                       {"limit": 2, "cursor": first["next_cursor"]}).json
    titles = [p["title"] for p in first["items"] + rest["items"]]
    assert titles == ["お知らせ2", "お知らせ1", "お知らせ0"] and rest["next_cursor"] is None
    assert first["items"][0]["url"] == f"http://localhost/s/{NAGANO_CITY}/posts/news-2"


def test_projects_carry_sessions_places_left_and_whether_they_count(testapp, dbsession, city):
    project = make_project(dbsession, city, "りんご収穫", partner=make_partner(dbsession, city,
                                                                         "中央町自治会"))
    make_session(dbsession, project, NOW + timedelta(days=3), capacity=4,
                 application_required=True, place="りんご園")
    make_session(dbsession, project, NOW - timedelta(days=3))
    make_project(dbsession, city, "雪かき", designated=False)
    make_project(dbsession, city, "下書き", state="draft")
    items = testapp.get(f"{API}/sites/{NAGANO_CITY}/projects").json["items"]
    by_title = {p["title"]: p for p in items}
    assert set(by_title) == {"りんご収穫", "雪かき"}
    apples = by_title["りんご収穫"]
    assert apples["organiser"] == "中央町自治会" and apples["counts_toward_premium"] is True
    assert [(s["place"], s["capacity"], s["places_left"]) for s in apples["sessions"]] == [
        ("りんご園", 4, 4)]
    assert by_title["雪かき"]["counts_toward_premium"] is False


def test_support_measures_say_who_may_apply_rate_and_cap(testapp, dbsession, city):
    make_measure(dbsession, city, "交通費補助", applicants="premium", rate=(3, 4),
                 cap_yen=300_000)
    make_measure(dbsession, city, "準備中の施策", state="draft")
    items = testapp.get(f"{API}/sites/{NAGANO_CITY}/support-measures").json["items"]
    assert [(m["title"], m["applicants"], m["rate"], m["cap_yen"]) for m in items] == [
        ("交通費補助", "premium", {"numerator": 3, "denominator": 4}, 300_000)]


def test_control_characters_are_refused_as_problem_details(testapp):
    """The request guard refuses NUL before any view; the API still answers its way."""
    answer = testapp.get("/api/v1/sites?q=%00", status=400)
    assert answer.content_type == "application/problem+json"
    assert "制御文字" in answer.json["detail"]
