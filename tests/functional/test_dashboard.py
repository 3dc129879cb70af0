"""The public national dashboard (/stats/) and its open data, 延べ with and without the
prefecture registrations made through a municipality (rule 8), and a prefecture's
public page with its municipalities side by side."""
import csv
import io
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import webtest
from pyramid.i18n import make_localizer

from furusato_cms import main
from furusato_cms.models import IdentityVerification, Registration
from furusato_cms.services.statistics import StatisticsService
from furusato_cms.vocabulary import RELATIONSHIP_TYPES

from ..concurrency.support import needs_postgresql, own_database  # noqa: F401 - fixture
from ..conftest import HERE, NOW, base_settings
from ..factories import make_site, sign_in
from ..registrant_factories import make_registrant
from ..sites_factories import signed_in_operator
from ..stats_factories import CITY, OTHER, PREF, SUSPENDED_CITY, TOWN
from .test_public_cache import listening

JA = make_localizer("ja", [os.path.join(HERE, "locale")])


@pytest.fixture
def sites(dbsession):
    made = {code: make_site(dbsession, code) for code in (PREF, CITY, TOWN, OTHER)}
    made[SUSPENDED_CITY] = make_site(dbsession, SUSPENDED_CITY, state="suspended")
    return made


@pytest.fixture
def people(dbsession, sites):
    """Three people counted with the city and, derived from it, with the prefecture (one
    premium and long-staying); one of them also with Chiyoda directly; one at home in
    the city, one who left. Types and connections are left to their defaults."""
    made = []
    for number, (state, at_home, tier) in enumerate([
        ("active", False, "premium"), ("active", False, "basic"), ("active", False, "basic"),
        ("active", True, "basic"), ("left", False, "basic"),
    ]):
        account = make_registrant(dbsession, f"r{number}@example.jp")
        city = Registration(account_id=account.id, site_id=sites[CITY].id, state=state,
                            at_home=at_home, tier=tier, long_stay=tier == "premium",
                            registered_at=NOW - timedelta(days=40), state_changed_at=NOW)
        dbsession.add(city)
        dbsession.flush()
        dbsession.add(Registration(account_id=account.id, site_id=sites[PREF].id, state=state,
                                   derived_from_id=city.id, at_home=at_home,
                                   registered_at=NOW, state_changed_at=NOW))
        made.append(account)
    dbsession.add(Registration(account_id=made[0].id, site_id=sites[OTHER].id, state="active",
                               registered_at=NOW, state_changed_at=NOW))
    dbsession.flush()
    return made


@pytest.fixture
def counted(dbsession, clock, app_settings, people):
    """A statistics snapshot of the people above."""
    StatisticsService(dbsession, clock=clock, settings=app_settings).refresh()
    dbsession.flush()


def table_rows(page, name) -> dict:
    table = page.html.find("table", attrs={"data-table": name})
    rows = {}
    for tr in table.find("tbody").find_all("tr"):
        cells = [c.get_text(strip=True) for c in tr.find_all(["th", "td"])]
        rows[cells[0]] = cells[1:]
    return rows


def csv_rows(response) -> list:
    assert response.content_type == "text/csv"
    return list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))


WITH = "延べ登録数（市町村を通じた都道府県の登録を含む）"
WITHOUT = "延べ登録数（市町村を通じた都道府県の登録を含まない）"


# -- the page ----------------------------------------------------------------------------


def test_before_the_first_count_the_page_says_so(testapp, sites):
    page = testapp.get("/stats/")
    assert "まだ集計されていません" in page.html.find(id="no-figures").text
    document = testapp.get("/stats/data.json").json
    assert document["as_of"] is None and document["tables"] == []
    assert "まだ集計されていません" in document["message"]
    assert document["licence"]["name"] == "公共データ利用規約（第1.0版）"
    missing = testapp.get("/stats/aims.csv", status=404)
    assert "まだ集計されていません" in missing.text


def test_anyone_sees_the_dashboard_without_signing_in(testapp, dbsession, clock, app_settings,
                                                      counted, people):
    page = testapp.get("/stats/")
    assert "全国の関係人口" in page.text and "2026年11月25日" in page.text
    aims = table_rows(page, "aims")
    assert aims["実人数"][:2] == ["3", "10,000,000"]
    assert aims[WITH][:2] == ["7", "100,000,000"]
    assert aims[WITHOUT][:2] == ["4", "100,000,000"]
    summary = table_rows(page, "summary")
    assert summary["プレミアム登録"] == ["1"] and summary["長期滞在者"] == ["1"]
    assert summary["市町村を通じた都道府県の登録"] == ["3"]
    assert 'role="img"' in page.text and "<desc id=" in page.text
    assert 'name="csrf_token"' not in page.text and "Set-Cookie" not in page.headers
    sign_in(testapp, dbsession, people[0], clock, app_settings)
    testapp.get("/stats/", status=200)
    testapp.reset()
    signed_in_operator(testapp, dbsession, clock, app_settings)
    testapp.get("/stats/", status=200)


def test_growth_month_by_month_with_and_without_derived(testapp, counted):
    page = testapp.get("/stats/?from=2026-09&to=2026-11")
    growth = table_rows(page, "growth")
    assert growth == {"2026/09": ["0", "0"], "2026/10": ["3", "3"], "2026/11": ["7", "4"]}
    header = page.html.find("table", attrs={"data-table": "growth"}).find("thead").text
    assert WITH in header and WITHOUT in header
    assert "2026/11 7" in page.html.find("desc", id="chart-growth-desc").text


def test_the_four_types_are_named_in_the_guideline_words(testapp, counted):
    page = testapp.get("/stats/")
    types = table_rows(page, "types")
    labels = [JA.translate(label) for label in RELATIONSHIP_TYPES.values()]
    assert len(labels) == 4 and all(label in types for label in labels)
    header = page.html.find("table", attrs={"data-table": "types"}).find("thead").text
    assert "市町村を通じた都道府県の登録を含む" in header


def test_prefectures_are_a_sorted_bar_chart_with_a_table(testapp, counted):
    page = testapp.get("/stats/")
    prefectures = table_rows(page, "prefectures")
    codes = list(prefectures)
    assert codes == [PREF[:2], OTHER[:2]]
    assert prefectures[PREF[:2]] == ["長野県", "3", "6", "3", "1", "1", "3"]
    assert prefectures[OTHER[:2]] == ["東京都", "1", "1", "1", "0", "0", "1"]
    chart = page.html.find("svg", id=None, attrs={"aria-labelledby": "chart-prefectures-title "
                                                  "chart-prefectures-desc"})
    assert "長野県: 3" in chart.find("desc").text


def test_small_groups_from_identity_data_are_suppressed(testapp, dbsession, clock, app_settings,
                                                         sites, people):
    for account in people[:2]:
        dbsession.add(IdentityVerification(
            account_id=account.id, issuer="i", subject=f"s{account.id}", name="x",
            address="", home_code="131016", birthdate=NOW.date().replace(year=1990),
            gender="female", verified_at=NOW))
    StatisticsService(dbsession, clock=clock, settings=app_settings).refresh()
    dbsession.flush()
    page = testapp.get("/stats/")
    assert table_rows(page, "home_prefectures")["13"] == ["東京都", "<10"]
    assert table_rows(page, "age_gender")["30代"][0] == "<10"
    assert csv_rows(testapp.get("/stats/home_prefectures.csv"))[1] == ["13", "東京都", "<10"]
    tables = {t["name"]: t for t in testapp.get("/stats/data.json").json["tables"]}
    assert tables["home_prefectures"]["rows"] == [["13", "東京都", "<10"]]


def test_the_dashboard_in_english(testapp, counted):
    testapp.set_cookie("_LOCALE_", "en")
    page = testapp.get("/stats/")
    assert "Relationship population of Japan" in page.text
    aims = table_rows(page, "aims")
    assert aims["Registrations, without prefecture registrations through a municipality"][0] == "4"
    document = testapp.get("/stats/data.json").json
    assert document["title"] == "Relationship population of Japan"


def test_bad_months_are_refused_with_a_message(testapp, counted):
    page = testapp.get("/stats/?from=2026-13", status=400)
    assert "年-月" in page.text
    testapp.get("/stats/data.json?to=2030-01", status=400)


def test_the_public_layout_links_the_dashboard(testapp, sites):
    assert testapp.get("/").html.find("a", href="http://localhost/stats/")


# -- open data -------------------------------------------------------------------------------


def test_each_table_is_a_csv_file_under_the_open_data_licence(testapp, counted):
    response = testapp.get("/stats/aims.csv")
    rows = csv_rows(response)
    assert rows[0] == ["項目", "数", "目標", "達成率（％）"]
    assert rows[1][:3] == ["実人数", "3", "10000000"]
    assert [WITH, "7", "100000000", "0.000007"] in rows
    assert [WITHOUT, "4", "100000000", "0.000004"] in rows
    assert "public_data_license_v1.0" in response.headers["Link"]
    assert 'rel="license"' in response.headers["Link"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "20261125-1200" in response.content_disposition
    assert response.last_modified == NOW
    trend = csv_rows(testapp.get("/stats/trend.csv?from=2026-09&to=2026-11"))
    assert [row[0] for row in trend[1:]] == ["2026/09", "2026/10", "2026/11"]
    testapp.get("/stats/sites.csv", status=404)
    testapp.get("/stats/survey.csv", status=404)


def test_the_json_document_holds_every_table_the_time_and_the_licence(testapp, counted):
    response = testapp.get("/stats/data.json")
    assert response.content_type == "application/json"
    document = json.loads(response.body.decode("utf-8"))
    assert document["as_of"] == "2026-11-25T12:00:00+09:00"
    assert document["licence"] == {
        "name": "公共データ利用規約（第1.0版）", "short_name": "PDL1.0",
        "url": "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0",
        "compatible_with": "CC BY 4.0",
        "compatible_url": "https://creativecommons.org/licenses/by/4.0/deed.ja",
    }
    figures = document["figures"]
    assert figures["real_people"] == 3
    assert figures["registrations_including_derived"] == 7
    assert figures["registrations_excluding_derived"] == 4
    assert figures["derived_prefecture_registrations"] == 3
    assert figures["premium_registrations"] == 1 and figures["long_stay_registrations"] == 1
    tables = {t["name"]: t for t in document["tables"]}
    assert set(tables) == {"aims", "growth", "summary", "prefectures", "types", "connections",
                           "home_prefectures", "age_gender", "trend"}
    assert tables["aims"]["rows"][1] == [WITH, 7, 100_000_000, "0.000007"]
    page = testapp.get("/stats/")
    assert page.html.find("a", rel="license")["href"] == document["licence"]["url"]
    assert "出典：全国の関係人口" in page.html.find(id="attribution").text
    assert "PDL1.0" in page.html.find(id="licence").text


# -- rule 8 on the operator's page ---------------------------------------------------------


def test_the_operator_sees_registrations_with_and_without_derived(testapp, dbsession, clock,
                                                                  app_settings, counted):
    signed_in_operator(testapp, dbsession, clock, app_settings)
    page = testapp.get("/operator/stats")
    aims = table_rows(page, "aims")
    assert aims[WITH][:2] == ["7", "100,000,000"] and aims[WITHOUT][:2] == ["4", "100,000,000"]
    summary = table_rows(page, "summary")
    assert summary[WITH] == ["7"] and summary[WITHOUT] == ["4"]
    rows = csv_rows(testapp.get("/operator/stats.csv?table=aims"))
    assert [row[0] for row in rows[1:]] == ["実人数", WITH, WITHOUT]


# -- a prefecture's municipalities side by side ------------------------------------------------


def test_the_prefecture_open_data_lists_its_municipalities_side_by_side(testapp, sites, people):
    page = testapp.get(f"/s/{PREF}/open-data")
    side = table_rows(page, "municipalities")
    assert list(side) == [PREF, CITY, TOWN]
    assert side[PREF][1:] == ["3", "0", "0"]
    assert side[CITY] == [sites[CITY].name, "3", "1", "1"]
    assert side[TOWN][1:] == ["0", "0", "0"]
    header = [th.text for th in page.html.find(
        "table", attrs={"data-table": "municipalities"}).find("thead").find_all("th")]
    assert header == ["コード", "サイト", "人数", "プレミアム", "長期滞在者"]
    rows = csv_rows(testapp.get(f"/s/{PREF}/open-data.csv?table=municipalities"))
    assert rows[2][:3] == [CITY, sites[CITY].name, "3"]
    links = [a["href"] for a in page.html.find(id="municipal-open-data").find_next("ul")("a")]
    assert links == [f"http://localhost/s/{code}/open-data" for code in (CITY, TOWN)]
    city = testapp.get(f"/s/{CITY}/open-data")
    assert city.html.find("table", attrs={"data-table": "municipalities"}) is None
    assert city.html.find(id="municipal-open-data") is None


# -- the page cache ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cached_app(db_url):
    app = main({}, **base_settings(db_url, **{"furusato.public_cache_seconds": "60"}))
    yield app
    app.registry["public_page_cache"].close()


def test_a_new_snapshot_ends_the_cached_dashboard(cached_app, connection, dbsession, clock,
                                                   app_settings, people):
    listening(cached_app.registry["public_page_cache"])
    visitor = webtest.TestApp(cached_app, extra_environ={
        "HTTP_HOST": "localhost", "furusato.db_connection": connection, "furusato.clock": clock,
    })
    dbsession.commit()
    assert visitor.get("/stats/").html.find(id="no-figures")
    assert len(cached_app.registry["public_page_cache"]) == 1
    StatisticsService(dbsession, clock=clock, settings=app_settings).refresh()
    dbsession.commit()
    assert table_rows(visitor.get("/stats/"), "aims")["実人数"][0] == "3"


@needs_postgresql
def test_the_refresh_job_ends_the_cached_dashboard_of_every_process(own_database, request,
                                                                    tmp_path):
    """The cron job is another process: only its commit's NOTIFY can tell this one."""
    app = main({}, **base_settings(own_database.url, **{"furusato.public_cache_seconds": "60"}))
    visitor = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost"})
    cache = listening(app.registry["public_page_cache"])
    request.addfinalizer(cache.close)
    assert visitor.get("/stats/").html.find(id="no-figures") and len(cache) == 1
    ini = tmp_path / "stats.ini"
    ini.write_text("[app:main]\nuse = egg:furusato-cms\n"
                   f"furusato.db_url = {own_database.url}\n"
                   "furusato.session_secret = script-test\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "FURUSATO_DB_URL"}
    script = str(Path(sys.executable).parent / "furusato-refresh-stats")
    run = subprocess.run([script, str(ini)], capture_output=True, text=True, env=env,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    deadline = time.monotonic() + 10
    while len(cache) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert visitor.get("/stats/").html.find(id="stats-source")
