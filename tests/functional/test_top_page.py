"""The top page explains the system to a newcomer: what it is, basic vs premium, three
steps, featured activities, the national counters, then the directory."""
from furusato_cms.scripts import demo
from furusato_cms.services.statistics import StatisticsService

from ..activity_search_factories import make_country
from ..conftest import NOW


def headings(page) -> list:
    return [(tag.name, tag.text.strip()) for tag in page.html.select("main h1, main h2")]


def test_explains_then_features_counts_and_lists(testapp, dbsession, clock, app_settings):
    make_country(dbsession)
    StatisticsService(dbsession, clock=clock, settings=app_settings).refresh()
    page = testapp.get("/")
    assert [name for name, _text in headings(page)] == ["h1"] + ["h2"] * 5
    assert [text for _name, text in headings(page)] == [
        "ふるさと住民登録", "ベーシック登録とプレミアム登録", "登録の3ステップ", "参加できる活動",
        "いまの関係人口", "参加している自治体"]
    assert len(page.html.select("ol.steps > li")) == 3
    assert "マイナンバーカード" in page.text and "無料" in page.text
    featured = [a.text for a in page.html.select("#featured-heading ~ ul.cards h3 a")]
    assert featured == ["Craft fair helpers", "赤城山の植樹", "りんご収穫の手伝い"]
    assert page.html.select_one("a[href$='/activities/']") is not None
    counters = page.html.select_one("dl.counters").text
    assert "10,000,000" in counters and "100,000,000" in counters
    directory = [a.text for a in page.html.select("#directory-heading ~ ul.cards h3 a")]
    assert "長野市" in directory and "上田市" not in directory


def test_before_the_first_count_and_without_activities(testapp, dbsession):
    page = testapp.get("/")
    assert page.html.select_one("dl.counters") is None
    assert "いま募集している活動はありません" in page.text
    assert page.html.select_one("a[href$='/stats/']") is not None


def test_with_the_demo_data_the_counters_show_its_people(testapp, dbsession, app_settings):
    demo.load(dbsession, NOW, app_settings)
    counters = testapp.get("/").html.select_one("dl.counters").text
    assert "登録した人" in counters and "0人 " not in counters


def test_the_counters_are_the_dashboards_headline(testapp, dbsession, clock, app_settings):
    from furusato_cms.services.dashboard import headline
    from furusato_cms.services.statistics import default_period

    demo.load(dbsession, NOW, app_settings)
    service = StatisticsService(dbsession, clock=clock, settings=app_settings)
    service.refresh()
    report = service.national_report(default_period(NOW))
    figures = headline(report)
    counters = service.national_counters()
    assert (counters.real_people, counters.registrations_including_derived,
            counters.premium_registrations) == (
        figures["real_people"], figures["registrations_including_derived"],
        figures["premium_registrations"])
    assert counters.as_of == report.snapshot.as_of and counters.real_people > 0


def test_no_counters_before_the_first_snapshot(dbsession, clock, app_settings):
    assert StatisticsService(dbsession, clock=clock,
                             settings=app_settings).national_counters() is None


def test_the_directory_counts_every_match_even_past_its_last_page(
        testapp, dbsession, clock, app_settings):
    from furusato_cms.services.directory import PAGE_SIZE, SiteDirectory

    from ..factories import make_site
    from ..premium_factories import local_code
    for n in range(PAGE_SIZE + 2):
        make_site(dbsession, local_code(f"20{n + 300:03d}"), name=f"市{n:02d}",
                  with_intro=False)
    directory = SiteDirectory(dbsession, clock=clock, settings=app_settings)
    first, second = directory.listing(page=1), directory.listing(page=2)
    assert (first.total, len(first.items), first.more) == (PAGE_SIZE + 2, PAGE_SIZE, True)
    assert (second.total, len(second.items), second.more) == (PAGE_SIZE + 2, 2, False)
    assert [s.code for s in first.items + second.items] == [
        s.code for s in directory.search(page=1).items + directory.search(page=2).items]
    beyond = directory.listing(page=5)
    assert (beyond.total, beyond.items, beyond.more) == (PAGE_SIZE + 2, [], False)
    assert directory.listing("市0", "20").total == 10
    assert directory.listing("100%").total == 0
    assert "32" in testapp.get("/", {"page": "5"}).html.select_one("p[role=status]").text
