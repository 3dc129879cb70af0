"""Statistics screens: who may see which figures, what the pages and CSV files show,
and refusals of bad parameters."""
import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from furusato_cms.models import AuditEntry, IdentityVerification, Registration
from furusato_cms.views import stats as stats_views

from ..conftest import NOW
from ..factories import make_site, make_staff, sign_in
from ..registrant_factories import make_registrant
from ..sites_factories import form_with_action, signed_in_operator, signed_in_staff
from ..stats_factories import CITY, OTHER, PREF, TOWN


@pytest.fixture
def sites(dbsession):
    return {code: make_site(dbsession, code) for code in (PREF, CITY, TOWN, OTHER)}


@pytest.fixture
def people(dbsession, sites):
    """Three people with the city (one premium) and through it the prefecture, one at
    home in the city, one who left."""
    made = []
    for number, (state, at_home, tier) in enumerate([
        ("active", False, "premium"), ("active", False, "basic"), ("active", False, "basic"),
        ("active", True, "basic"), ("left", False, "basic"),
    ]):
        account = make_registrant(dbsession, f"r{number}@example.jp")
        city = Registration(account_id=account.id, site_id=sites[CITY].id, state=state,
                            at_home=at_home, tier=tier, relationship_types=[number % 4 + 1],
                            connections=["tourism"], registered_at=NOW - timedelta(days=40),
                            state_changed_at=NOW)
        dbsession.add(city)
        dbsession.flush()
        dbsession.add(Registration(account_id=account.id, site_id=sites[PREF].id, state=state,
                                   derived_from_id=city.id, at_home=at_home, relationship_types=[1],
                                   connections=["family"], registered_at=NOW,
                                   state_changed_at=NOW))
        made.append(account)
    dbsession.flush()
    return made


def staff_in(testapp, dbsession, clock, app_settings, site, role):
    return signed_in_staff(testapp, dbsession, clock, app_settings, site, role)


def table_rows(page, name) -> dict:
    """First cell -> the other cells of the page's table ``name``."""
    table = page.html.find("table", attrs={"data-table": name})
    rows = {}
    for tr in table.find("tbody").find_all("tr"):
        cells = [c.get_text(strip=True) for c in tr.find_all(["th", "td"])]
        rows[cells[0]] = cells[1:]
    return rows


def csv_rows(response) -> list:
    assert response.body.startswith(b"\xef\xbb\xbf")
    assert response.content_type == "text/csv"
    return list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))


# -- who may see what ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["site_admin", "editor", "coordinator"])
def test_site_staff_see_their_dashboard(testapp, dbsession, clock, app_settings, sites,
                                         people, role):
    staff_in(testapp, dbsession, clock, app_settings, sites[CITY], role)
    page = testapp.get(f"/s/{CITY}/stats")
    assert "関係人口の統計" in page.text
    summary = table_rows(page, "summary")
    assert summary["登録している人（居住地での登録を除く）"] == ["3"]
    assert summary["プレミアム登録"] == ["1"]
    assert summary["居住地での登録（別に表示し、数えません）"] == ["1"]
    assert 'role="img"' in page.text and "<title id=" in page.text


@pytest.mark.parametrize("role", ["partner"])
def test_partner_staff_are_refused(testapp, dbsession, clock, app_settings, sites, role):
    staff_in(testapp, dbsession, clock, app_settings, sites[CITY], role)
    testapp.get(f"/s/{CITY}/stats", status=403)
    testapp.get(f"/s/{CITY}/stats.csv?table=summary", status=403)


def test_staff_of_another_site_are_refused(testapp, dbsession, clock, app_settings, sites,
                                           people):
    staff_in(testapp, dbsession, clock, app_settings, sites[TOWN], "site_admin")
    testapp.get(f"/s/{CITY}/stats", status=403)
    testapp.get(f"/s/{CITY}/stats.csv?table=summary", status=403)
    testapp.get(f"/s/{TOWN}/stats?municipality={CITY}", status=400)


def test_registrants_and_anonymous_people_are_refused(testapp, dbsession, clock, app_settings,
                                                      sites, people):
    for path in (f"/s/{CITY}/stats", "/operator/stats"):
        assert "/signin" in testapp.get(path, status=302).location
    sign_in(testapp, dbsession, people[0], clock, app_settings)
    testapp.get(f"/s/{CITY}/stats", status=403)
    testapp.get("/operator/stats", status=403)
    testapp.get(f"/s/{CITY}/stats.csv?table=summary", status=403)


def test_site_staff_cannot_see_the_nation(testapp, dbsession, clock, app_settings, sites):
    staff_in(testapp, dbsession, clock, app_settings, sites[CITY], "site_admin")
    testapp.get("/operator/stats", status=403)
    testapp.get("/operator/stats.csv?table=aims", status=403)
    testapp.post("/operator/stats", status=403, expect_errors=True)


def test_prefecture_staff_see_each_municipality(testapp, dbsession, clock, app_settings, sites,
                                                people):
    staff_in(testapp, dbsession, clock, app_settings, sites[PREF], "editor")
    page = testapp.get(f"/s/{PREF}/stats")
    summary = table_rows(page, "summary")
    assert summary["市町村を通じた登録"] == ["3"] and summary["直接の登録"] == ["0"]
    municipalities = table_rows(page, "municipalities")
    assert municipalities[CITY][1] == "3" and municipalities[TOWN][1] == "0"
    city = testapp.get(f"/s/{PREF}/stats?municipality={CITY}")
    assert table_rows(city, "summary")["登録している人（居住地での登録を除く）"] == ["3"]
    assert "長野県の市町村です" in city.text
    rows = csv_rows(testapp.get(f"/s/{PREF}/stats.csv?table=summary&municipality={CITY}"))
    assert ["プレミアム登録", "1"] in rows
    testapp.get(f"/s/{PREF}/stats?municipality={OTHER}", status=400)
    testapp.get(f"/s/{CITY}/stats", status=403)


def test_the_operator_sees_the_nation_and_any_site(testapp, dbsession, clock, app_settings,
                                                   sites, people):
    signed_in_operator(testapp, dbsession, clock, app_settings)
    empty = testapp.get("/operator/stats")
    assert "まだ集計されていません" in empty.text
    form_with_action(empty, "/operator/stats").submit().follow()
    page = testapp.get("/operator/stats")
    aims = table_rows(page, "aims")
    assert aims["実人数"][:2] == ["3", "10,000,000"]
    assert aims["延べ登録数（市町村を通じた都道府県の登録を含む）"][:2] == ["6", "100,000,000"]
    assert aims["延べ登録数（市町村を通じた都道府県の登録を含まない）"][:2] == ["3", "100,000,000"]
    sites_table = table_rows(page, "sites")
    assert sites_table[CITY][1] == "3" and sites_table[PREF][1] == "3"
    assert dbsession.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "stats.refresh")) == 1
    testapp.get(f"/s/{CITY}/stats", status=200)
    rows = csv_rows(testapp.get("/operator/stats.csv?table=sites&sort=name&order=asc"))
    assert rows[0][:2] == ["コード", "サイト"] and len(rows) == 1 + len(sites)


def test_the_national_table_sorts_by_each_figure(testapp, dbsession, clock, app_settings,
                                                 sites, people):
    signed_in_operator(testapp, dbsession, clock, app_settings)
    testapp.post("/operator/stats", {"csrf_token": _csrf(testapp)})
    ascending = testapp.get("/operator/stats?sort=premium&order=asc")
    codes = list(table_rows(ascending, "sites"))
    assert codes[-1] == CITY
    descending = testapp.get("/operator/stats?sort=premium")
    assert list(table_rows(descending, "sites"))[0] == CITY


def test_the_national_table_comes_in_pages(testapp, dbsession, clock, app_settings, sites,
                                           people, monkeypatch):
    monkeypatch.setattr(stats_views, "SITES_PER_PAGE", 3)
    signed_in_operator(testapp, dbsession, clock, app_settings)
    testapp.post("/operator/stats", {"csrf_token": _csrf(testapp)})
    first = testapp.get("/operator/stats?sort=code&order=asc")
    assert list(table_rows(first, "sites")) == sorted(sites)[:3]
    second = first.click(linkid=None, href=r"page=2")
    assert list(table_rows(second, "sites")) == sorted(sites)[3:]
    assert "次のサイト" not in second.text and "前のサイト" in second.text
    testapp.get("/operator/stats?page=0", status=400)


def _csrf(testapp):
    page = testapp.get("/operator/stats")
    return page.html.find("input", attrs={"name": "csrf_token"})["value"]


# -- open data ------------------------------------------------------------------------------


def test_open_data_is_public_and_aggregate(testapp, dbsession, sites, people):
    page = testapp.get(f"/s/{CITY}/open-data")
    assert "オープンデータ" in page.text
    assert table_rows(page, "summary")["登録している人（居住地での登録を除く）"] == ["3"]
    names = {t["data-table"] for t in page.html.find_all("table")}
    assert "survey" not in names and "attendance_projects" not in names
    assert "r0@example.jp" not in page.text
    rows = csv_rows(testapp.get(f"/s/{CITY}/open-data.csv?table=types"))
    assert rows[0] == ["類型", "人数"]
    testapp.get(f"/s/{CITY}/open-data.csv?table=survey", status=400)


def test_open_data_of_a_site_that_is_not_public_is_not_found(testapp, dbsession):
    make_site(dbsession, CITY, state="suspended")
    testapp.get(f"/s/{CITY}/open-data", status=404)


def test_small_groups_from_identity_data_are_shown_as_less_than_ten(testapp, dbsession, sites,
                                                                     people):
    for account in people[:2]:
        dbsession.add(IdentityVerification(
            account_id=account.id, issuer="i", subject=f"s{account.id}", name="x",
            address="", home_code="131016", birthdate=NOW.date().replace(year=1990),
            gender="female", verified_at=NOW))
    dbsession.flush()
    page = testapp.get(f"/s/{CITY}/open-data")
    assert table_rows(page, "home_prefectures")["13"] == ["東京都", "<10"]
    assert table_rows(page, "age_gender")["30代"][0] == "<10"
    rows = csv_rows(testapp.get(f"/s/{CITY}/open-data.csv?table=home_prefectures"))
    assert rows[1] == ["13", "東京都", "<10"]


# -- bad parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("query, message", [
    ("from=2026-13", "年-月"),
    ("from=abc", "年-月"),
    ("from=2026-10&to=2026-01", "終わりの月"),
    ("to=2030-01", "2020-01"),
    ("from=2019-01", "2020-01"),
])
def test_bad_periods_are_refused_with_a_message(testapp, sites, query, message):
    page = testapp.get(f"/s/{CITY}/open-data?{query}", status=400)
    assert message in page.text


def test_bad_table_sort_and_municipality_parameters_are_refused(testapp, dbsession, clock,
                                                                app_settings, sites):
    testapp.get(f"/s/{CITY}/open-data.csv", status=400)
    testapp.get(f"/s/{CITY}/open-data.csv?table=../../etc", status=400)
    staff_in(testapp, dbsession, clock, app_settings, sites[PREF], "site_admin")
    page = testapp.get(f"/s/{PREF}/stats?municipality=999999", status=400)
    assert "市町村" in page.text
    make_staff(dbsession, sites[CITY], "site_admin", email="op2@example.jp", is_operator=True)
    signed_in_operator(testapp, dbsession, clock, app_settings)
    testapp.get("/operator/stats?sort=password", status=400)
    testapp.get("/operator/stats?sort=people&order=up", status=400)
    testapp.get("/operator/stats?from=2026-1", status=400)


def test_trend_and_csv_follow_the_chosen_months(testapp, dbsession, clock, app_settings, sites,
                                                people):
    staff_in(testapp, dbsession, clock, app_settings, sites[CITY], "coordinator")
    page = testapp.get(f"/s/{CITY}/stats?from=2026-09&to=2026-11")
    assert list(table_rows(page, "trend")) == ["2026/09", "2026/10", "2026/11"]
    rows = csv_rows(testapp.get(f"/s/{CITY}/stats.csv?table=trend&from=2026-09&to=2026-11"))
    assert [row[0] for row in rows[1:]] == ["2026/09", "2026/10", "2026/11"]
    assert re.search(r"from=2026-09", page.html.find("a", class_="csv-link")["href"])
