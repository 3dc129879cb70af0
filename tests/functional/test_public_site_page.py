"""The site's page reads its parts in a few narrow statements (issue 16): what it shows
of projects, measures, posts and the header photo stays what the rules say."""
from datetime import timedelta

from furusato_cms.models import ContentTag

from ..activity_factories import make_project, make_session
from ..conftest import NOW
from ..factories import NAGANO_CITY, make_post, make_site
from ..support_factories import make_measure

BASE = f"/s/{NAGANO_CITY}/"


def test_featured_projects_come_soonest_first_with_their_next_session(testapp, dbsession):
    site = make_site(dbsession, NAGANO_CITY)
    later = make_project(dbsession, site, "雪かき")
    make_session(dbsession, later, NOW + timedelta(days=9), place="駅前")
    sooner = make_project(dbsession, site, "りんご収穫")
    called_off = make_session(dbsession, sooner, NOW + timedelta(days=1), place="中止の畑")
    called_off.cancelled_at = NOW
    make_session(dbsession, sooner, NOW - timedelta(days=2), place="去年の畑")
    make_session(dbsession, sooner, NOW + timedelta(days=3), place="りんご園")
    make_session(dbsession, sooner, NOW + timedelta(days=5), place="二回目の畑")
    make_project(dbsession, site, "日程なし")
    older = make_project(dbsession, site, "四つ目")
    older.published_at -= timedelta(days=400)
    make_project(dbsession, site, "下書き", state="draft")
    dbsession.flush()
    page = testapp.get(BASE)
    cards = page.html.select("#activities-heading ~ ul.cards > li")
    assert [card.h3.text for card in cards] == ["りんご収穫", "雪かき", "日程なし"]
    assert "次回：" in cards[0].text and "りんご園" in cards[0].text
    assert not any(place in cards[0].text for place in ("中止の畑", "去年の畑", "二回目の畑"))
    assert "駅前" in cards[1].text
    assert "現在、予定されている日程はありません。" in cards[2].text


def test_featured_measures_put_activity_support_first_and_stop_at_three(testapp, dbsession):
    site = make_site(dbsession, NAGANO_CITY)
    make_measure(dbsession, site, "あ 住民料金", family="resident_rate")
    make_measure(dbsession, site, "い 交通費", family="travel")
    make_measure(dbsession, site, "う 宿泊費", family="lodging")
    make_measure(dbsession, site, "え 改修費", family="vacant_house_renovation")
    make_measure(dbsession, site, "お 下書き", family="travel", state="draft")
    page = testapp.get(BASE)
    titles = [h3.text for h3 in page.html.select("#support-heading ~ ul.cards h3")]
    assert titles == ["い 交通費", "う 宿泊費", "え 改修費"]


def test_post_cards_show_their_tags_and_the_header_photo_its_text(testapp, dbsession):
    site = make_site(dbsession, NAGANO_CITY)
    post = make_post(dbsession, site, "apple", title="りんご便り",
                     published_at=NOW - timedelta(days=1))
    dbsession.add_all([ContentTag(content_id=post.id, tag=tag) for tag in ("food", "agriculture")])
    dbsession.flush()
    card = testapp.get(BASE).html.select_one("#posts ~ ul.cards > li")
    assert [span.text for span in card.select("ul.tags span")] == ["農業・漁業", "食"]
    assert [a.text for a in testapp.get(BASE + "posts/apple").html.select("ul.tags a")] == [
        "農業・漁業", "食"]
