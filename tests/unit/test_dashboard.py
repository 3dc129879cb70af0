"""The public national dashboard's tables (services.dashboard) against a brute-force count
of generated data, and 延べ with and without the derived prefecture registrations."""
import pytest

from furusato_cms.services.dashboard import (
    LICENCE,
    open_data_document,
    prefectures_table,
    public_tables,
)
from furusato_cms.services.statistics import Period, StatisticsService
from furusato_cms.services.statistics_tables import (
    aims_table,
    growth_table,
    national_summary_table,
    national_tables,
)


from ..conftest import NOW
from ..stats_factories import brute_force, populate

PERIOD = Period("2025-12", "2026-11")


@pytest.fixture
def service(dbsession, clock, app_settings):
    return StatisticsService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def report(service, dbsession):
    populate(dbsession)
    service.refresh()
    return service.national_report(PERIOD)


def translate(value):
    return str(value)


def test_registrations_are_shown_with_and_without_derived_ones(report, dbsession):
    truth = brute_force(dbsession, NOW)
    total, derived = truth[(0, "people", "")], truth[(0, "origin", "derived")]
    assert 0 < derived < total
    for table in (aims_table(report.figures), national_summary_table(report.figures)):
        numbers = {str(row[0]): row[1] for row in table.rows}
        assert numbers["Registrations, including prefecture registrations through a "
                       "municipality"] == total
        assert numbers["Registrations, without prefecture registrations through a "
                       "municipality"] == total - derived
    operator_aims = national_tables(report)[0]
    assert operator_aims.rows == aims_table(report.figures).rows
    assert [row[2] for row in operator_aims.rows] == [10_000_000, 100_000_000, 100_000_000]


def test_growth_adds_up_today_registrations_by_their_first_month(report, dbsession):
    truth = brute_force(dbsession, NOW)
    months = {k[2]: v for k, v in truth.items() if k[0] == 0 and k[1] == "registered_month"}
    assert any(key[:7] < PERIOD.first for key in months), "some began before the period"
    rows = growth_table(report.figures, PERIOD).rows
    assert [row[0] for row in rows] == [m.replace("-", "/") for m in PERIOD.months]
    for month, row in zip(PERIOD.months, rows):
        upto = {k: v for k, v in months.items() if k[:7] <= month}
        assert row[1:] == [sum(upto.values()),
                           sum(v for k, v in upto.items() if k.endswith("|direct"))]
    total, derived = truth[(0, "people", "")], truth[(0, "origin", "derived")]
    assert rows[-1][1:] == [total, total - derived]


def test_prefectures_equal_brute_force(report, dbsession):
    truth = brute_force(dbsession, NOW)
    sites = [site for site, _figures, _fee in report.sites]
    table = prefectures_table(report)
    rows = {row[0]: row for row in table.rows}
    assert set(rows) == {site.prefecture_code for site in sites}
    for code, row in rows.items():
        mine = [s.id for s in sites if s.prefecture_code == code]
        total = sum(truth.get((i, "people", ""), 0) for i in mine)
        derived = sum(truth.get((i, "origin", "derived"), 0) for i in mine)
        assert row[2] == truth[(0, "nation_people_by_prefecture", code)]
        assert row[3:7] == [total, total - derived,
                            sum(truth.get((i, "tier", "premium"), 0) for i in mine),
                            sum(truth.get((i, "long_stay", ""), 0) for i in mine)]
        assert row[7] == sum(1 for s in sites if s.prefecture_code == code and s.state == "active")
    assert [row[2] for row in table.rows] == sorted((row[2] for row in table.rows), reverse=True)
    assert table.chart == "bars" and table.bar_columns == (1, 2)


def test_the_public_tables_hold_no_site_level_or_fee_detail(report):
    names = [table.name for table in public_tables(report)]
    assert names == ["aims", "growth", "summary", "prefectures", "types", "connections",
                     "home_prefectures", "age_gender", "trend"]


def test_the_open_data_document(report):
    document = open_data_document(report, translate, "https://example.jp/stats/")
    assert document["as_of"] == "2026-11-25T12:00:00+09:00"
    assert document["licence"]["url"] == LICENCE.url
    assert document["licence"]["compatible_with"] == "CC BY 4.0"
    assert document["period"] == {"first": "2025-12", "last": "2026-11"}
    figures = document["figures"]
    assert (figures["registrations_including_derived"]
            - figures["registrations_excluding_derived"]
            == figures["derived_prefecture_registrations"] > 0)
    home = next(t for t in document["tables"] if t["name"] == "home_prefectures")
    assert {type(row[2]) for row in home["rows"]} <= {int, str}
    assert any(row[2] == "<10" for row in home["rows"])


def test_before_the_first_count_the_document_says_so():
    document = open_data_document(None, translate, "https://example.jp/stats/")
    assert document["as_of"] is None and document["tables"] == []
    assert document["message"].startswith("No figures have been counted yet")
