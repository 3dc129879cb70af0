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
