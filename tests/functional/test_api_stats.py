"""Open statistics in the API: the national document is the public dashboard's open data
and a site's tables are its open-data page's, cell for cell, without a token."""
from ..stats_factories import CITY
from .test_dashboard import counted, people, sites  # noqa: F401 - fixtures


def test_before_the_first_count_the_national_document_says_so(testapp, sites):  # noqa: F811
    answer = testapp.get("/api/v1/stats/national").json
    assert answer["as_of"] is None and answer["tables"] == [] and answer["message"]


def test_national_figures_are_the_dashboards(testapp, dbsession, clock, app_settings,
                                             counted):  # noqa: F811
    answer = testapp.get("/api/v1/stats/national").json
    page = testapp.get("/stats/data.json").json
    assert answer["figures"] == page["figures"] and answer["figures"]["real_people"] == 3
    assert answer["tables"] == page["tables"] and len(answer["tables"]) >= 5
    english = testapp.get("/api/v1/stats/national",
                          headers={"Accept-Language": "en"}).json["tables"][0]["title"]
    assert english != answer["tables"][0]["title"]


def test_a_sites_tables_are_its_open_data_pages(testapp, sites, people):  # noqa: F811
    answer = testapp.get(f"/api/v1/sites/{CITY}/stats").json
    assert answer["site"]["code"] == CITY and answer["counted"] == "live"
    summary = answer["tables"][0]
    assert summary["rows"] and all(len(row) == len(summary["headers"])
                                   for row in summary["rows"])
    page = testapp.get(f"/s/{CITY}/open-data")
    shown = [t["data-table"] for t in page.html.find_all("table", attrs={"data-table": True})]
    assert [table["name"] for table in answer["tables"]] == shown
    testapp.get("/api/v1/sites/999999/stats", status=404)
