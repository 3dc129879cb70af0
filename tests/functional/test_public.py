"""What visitors see: the directory, a site's page, posts, tag filters, errors."""
from datetime import timedelta

import pytest

from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_post, make_site


def test_top_page_lists_only_active_sites(testapp, dbsession):
    make_site(dbsession, NAGANO_CITY)
    make_site(dbsession, MATSUMOTO, state="suspended")
    page = testapp.get("/")
    assert "長野市" in page.text
    assert "松本市" not in page.text


def test_top_page_searches_by_kana_and_prefecture(testapp, dbsession):
    make_site(dbsession, NAGANO_CITY, name_kana="ながのし")
    make_site(dbsession, "131016", name="千代田区", name_kana="ちよだく")
    assert "千代田区" not in testapp.get("/", {"q": "ながの"}).text
    page = testapp.get("/", {"pref": "13"})
    assert "千代田区" in page.text and "長野市" not in page.text


def test_site_page_shows_intro_and_published_posts_newest_first(testapp, dbsession, clock):
    site = make_site(dbsession, NAGANO_CITY)
    make_post(dbsession, site, "old", title="古いお知らせ", published_at=clock() - timedelta(days=3))
    make_post(dbsession, site, "new", title="新しいお知らせ", published_at=clock() - timedelta(days=1))
    make_post(dbsession, site, "draft", title="下書き", state="draft")
    text = testapp.get(f"/s/{NAGANO_CITY}/").text
    assert "ようこそ" in text
    assert text.index("新しいお知らせ") < text.index("古いお知らせ")
    assert "下書き" not in text


def test_scheduled_and_expired_posts_are_hidden(testapp, dbsession, clock):
    site = make_site(dbsession, NAGANO_CITY)
    make_post(dbsession, site, "later", title="予約", publish_at=clock() + timedelta(hours=1))
    make_post(dbsession, site, "gone", title="期限切れ", expire_at=clock() - timedelta(hours=1))
    assert "予約" not in testapp.get(f"/s/{NAGANO_CITY}/").text
    testapp.get(f"/s/{NAGANO_CITY}/posts/later", status=404)
    testapp.get(f"/s/{NAGANO_CITY}/posts/gone", status=404)
    clock.advance(timedelta(hours=2))
    assert "予約" in testapp.get(f"/s/{NAGANO_CITY}/").text


def test_tag_filter(testapp, dbsession):
    site = make_site(dbsession, NAGANO_CITY)
    tagged = make_post(dbsession, site, "apple", title="りんご収穫")
    make_post(dbsession, site, "snow", title="雪かき")
    from furusato_cms.models import ContentTag

    dbsession.add(ContentTag(content_id=tagged.id, tag="agriculture"))
    dbsession.flush()
    text = testapp.get(f"/s/{NAGANO_CITY}/posts/", {"tag": "agriculture"}).text
    assert "りんご収穫" in text and "雪かき" not in text


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "x"}, {"tag": "nonsense"}])
def test_bad_listing_parameters_are_400_with_a_message(testapp, dbsession, params):
    make_site(dbsession, NAGANO_CITY)
    page = testapp.get(f"/s/{NAGANO_CITY}/posts/", params, status=400)
    assert "<h1>" in page.text and "Bad Request" not in page.text
    assert any(word in page.text for word in ("ページ番号", "分野の指定"))


def test_unknown_and_inactive_sites_are_404_pages(testapp, dbsession):
    make_site(dbsession, NAGANO_PREF, state="suspended")
    assert "ページが見つかりません" in testapp.get("/s/999999/", status=404).text
    testapp.get(f"/s/{NAGANO_PREF}/", status=404)


def test_english_is_selectable(testapp, dbsession):
    make_site(dbsession, NAGANO_CITY)
    page = testapp.get(f"/s/{NAGANO_CITY}/posts/?page=1")
    english = page.click(linkid=None, href="lang=en")
    assert english.status_int == 303
    assert english.location == f"http://localhost/s/{NAGANO_CITY}/posts/?page=1"
    page = english.follow()
    assert 'lang="en"' in page.text and "News and information" in page.text
    page.click(href="lang=ja").follow()
    assert 'lang="ja"' in testapp.get("/").text


def test_an_unknown_language_changes_nothing(testapp, dbsession):
    testapp.get("/language", {"lang": "fr", "came_from": "/"}, status=303)
    assert "_LOCALE_" not in testapp.cookies


def test_healthz(testapp):
    assert testapp.get("/healthz").json == {"status": "ok", "database": "ok"}


def test_unknown_page_inside_a_site_is_a_404_in_the_site_look(testapp, dbsession):
    make_site(dbsession, NAGANO_CITY, theme="contrast")
    page = testapp.get(f"/s/{NAGANO_CITY}/no-such-page", status=404)
    assert "ページが見つかりません" in page.text
    assert "theme-contrast" in page.text and "長野市" in page.text


def test_healthz_is_503_when_the_database_is_unreachable():
    import webtest

    from furusato_cms import main

    from ..conftest import base_settings

    app = main({}, **base_settings("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = webtest.TestApp(app).get("/healthz", status=503)
    assert response.json["database"] == "unreachable"
