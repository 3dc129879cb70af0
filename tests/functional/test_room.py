"""The community room through the screens: who gets in, posting and replying with script
shown as text, the flood limit, reporting, moderators hiding with a reason (the author
is told by mail), and the site admin's on/off switch."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import RoomPost, RoomReport, RoomThread
from furusato_cms.services.community_room import POSTS_PER_WINDOW

from ..community_factories import make_member, make_thread, open_room
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant

ROOM = f"/s/{NAGANO_CITY}/room/"


@pytest.fixture
def site(dbsession):
    return open_room(dbsession, make_site(dbsession, NAGANO_CITY))


@pytest.fixture
def member(dbsession, site):
    return make_member(dbsession, site, "member@example.jp", name="会員 一郎")


@pytest.fixture
def coordinator(dbsession, site):
    return make_staff(dbsession, site, "coordinator", email="coord@example.jp", name="調整 次郎")


def as_(testapp, dbsession, account, clock, app_settings):
    testapp.reset()
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def form_posting_to(page, end):
    return next(f for f in page.forms.values() if (f.action or "").endswith(end))


def start_thread(testapp, title, body, status=303):
    form = testapp.get(ROOM + "new").forms["deform"]
    form["title"] = title
    form["body"] = body
    return form.submit("post", status=status)


def test_a_member_starts_a_thread_and_script_stays_text(testapp, dbsession, site, member,
                                                        clock, app_settings):
    as_(testapp, dbsession, member, clock, app_settings)
    assert "コミュニティルーム" in testapp.get(ROOM).text
    page = start_thread(testapp, "<b>りんご</b>の話",
                        "<script>alert(1)</script> [x](javascript:alert(1)) "
                        "javascript:alert(2) https://example.jp/a?b=1&c=2").follow()
    assert "<script>alert(1)" not in page.text and "<b>りんご" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'href="javascript:' not in page.text
    assert ('<a href="https://example.jp/a?b=1&amp;c=2" rel="nofollow ugc noopener">'
            in page.text)
    assert "会員 一郎" in page.text
    reply = form_posting_to(page, "/reply")
    reply["body"] = "続きです"
    page = reply.submit("post", status=303).follow()
    assert "続きです" in page.text
    listing = testapp.get(ROOM)
    assert "&lt;b&gt;りんご&lt;/b&gt;の話" in listing.text and "投稿2件" in listing.text


def test_people_outside_the_room_are_refused_with_a_reason(testapp, dbsession, site, member,
                                                           clock, app_settings):
    thread, _post = make_thread(dbsession, site, member)
    page = testapp.get(ROOM, status=403)
    assert "ログインしてください" in page.text
    stranger = make_registrant(dbsession, "stranger@example.jp")
    as_(testapp, dbsession, stranger, clock, app_settings)
    page = testapp.get(ROOM, status=403)
    assert "登録している方のための場です" in page.text
    testapp.get(f"{ROOM}{thread.id}", status=403)
    page = testapp.get(ROOM + "new", status=403)
    assert "登録している方" in page.text
    other_staff = make_staff(dbsession, make_site(dbsession, MATSUMOTO), "coordinator",
                             email="matsumoto@example.jp")
    as_(testapp, dbsession, other_staff, clock, app_settings)
    testapp.get(f"{ROOM}{thread.id}", status=403)
    testapp.get(ROOM + "moderation", status=403)


def test_a_room_switched_off_is_refused(testapp, dbsession, site, member, clock,
                                        app_settings):
    thread, _post = make_thread(dbsession, site, member)
    admin = make_staff(dbsession, site, "site_admin", email="admin@example.jp")
    as_(testapp, dbsession, admin, clock, app_settings)
    page = testapp.get(ROOM + "moderation")
    form_posting_to(page, "/settings").submit("enabled", status=303)
    dbsession.expire_all()
    assert site.community_room_enabled is False
    as_(testapp, dbsession, member, clock, app_settings)
    page = testapp.get(ROOM, status=403)
    assert "閉じています" in page.text
    testapp.get(f"{ROOM}{thread.id}", status=403)
    testapp.get(ROOM + "new", status=403)


def test_the_flood_limit_shows_on_the_form(testapp, dbsession, site, member, clock,
                                           app_settings):
    thread, _post = make_thread(dbsession, site, member, at=clock() - timedelta(hours=1))
    as_(testapp, dbsession, member, clock, app_settings)
    for number in range(POSTS_PER_WINDOW):
        page = testapp.get(f"{ROOM}{thread.id}")
        form = form_posting_to(page, "/reply")
        form["body"] = f"投稿{number}"
        form.submit("post", status=303)
    form = form_posting_to(testapp.get(f"{ROOM}{thread.id}"), "/reply")
    form["body"] = "もう一つ"
    page = form.submit("post", status=403)
    assert "10分ほど待ってから" in page.text and "もう一つ" in page.text
    clock.advance(timedelta(minutes=10))
    form.submit("post", status=303)


def test_empty_and_oversized_posts_are_refused_on_their_fields(testapp, dbsession, site,
                                                               member, clock, app_settings):
    as_(testapp, dbsession, member, clock, app_settings)
    page = start_thread(testapp, "", "本文", status=400)
    assert "スレッドのタイトルを入力してください" in page.text
    page = start_thread(testapp, "題", "x" * 4001, status=400)
    assert "4000文字まで" in page.text
    assert dbsession.scalars(select(RoomThread)).all() == []


def test_report_then_hide_with_a_reason_and_the_author_is_told(
        testapp, dbsession, site, member, coordinator, clock, app_settings, mail_catcher):
    thread, post = make_thread(dbsession, site, member, body="怪しい宣伝です")
    reporter = make_member(dbsession, site, "reporter@example.jp")
    as_(testapp, dbsession, reporter, clock, app_settings)
    page = testapp.get(f"{ROOM}posts/{post.id}/report")
    form = page.forms["deform"]
    form["reason"] = "宣伝です"
    form.submit("send", status=303)
    assert dbsession.scalar(select(RoomReport.reason)) == "宣伝です"

    as_(testapp, dbsession, coordinator, clock, app_settings)
    page = testapp.get(ROOM + "moderation")
    assert "怪しい宣伝です" in page.text and "通報1件" in page.text
    form = testapp.get(f"{ROOM}posts/{post.id}/hide").forms["deform"]
    form["reason"] = ""
    assert "理由を入力してください" in form.submit("send", status=400).text
    mail_catcher.clear()
    form["reason"] = "営利目的の宣伝のため"
    form.submit("send", status=303)
    dbsession.expire_all()
    assert dbsession.get(RoomPost, post.id).hidden_reason == "営利目的の宣伝のため"
    [mail] = mail_catcher.messages(to=member.email)
    assert "営利目的の宣伝のため" in mail["text"]
    assert "確認が必要な通報はありません" in testapp.get(ROOM + "moderation").text

    as_(testapp, dbsession, reporter, clock, app_settings)
    page = testapp.get(f"{ROOM}{thread.id}")
    assert "怪しい宣伝です" not in page.text and "管理者により非表示" in page.text


def test_registrants_cannot_moderate(testapp, dbsession, site, member, clock, app_settings):
    _thread, post = make_thread(dbsession, site, member)
    as_(testapp, dbsession, member, clock, app_settings)
    testapp.get(ROOM + "moderation", status=403)
    testapp.get(f"{ROOM}posts/{post.id}/hide", status=403)
    page = testapp.get(f"{ROOM}posts/{post.id}/report")
    form = page.forms["deform"]
    form["reason"] = "自分"
    assert "自分の投稿は通報できません" in form.submit("send", status=403).text
