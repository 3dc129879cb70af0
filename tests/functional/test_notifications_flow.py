"""Engagement through the browser: the feed on /my/, interests and follows, the inbox with
the unread count in the header, notification settings, the one-click unsubscribe link
of a real mail (no sign-in, no CSRF token), and an editor targeting and sending a post."""
import re

import pytest
from sqlalchemy import func, select

from furusato_cms.models import (
    ContentTag,
    InboxMessage,
    NotificationPreference,
    OutboxMail,
    SiteFollow,
    Unsubscribe,
)
from furusato_cms.services.feed import FeedService
from furusato_cms.services.bulk_sender import SMTPTransport
from furusato_cms.services.notifications import NotificationService, OutboxSender

from ..access import stranger
from ..factories import MATSUMOTO, NAGANO_CITY, make_post, make_site, make_staff, sign_in
from ..notification_factories import make_person


@pytest.fixture
def city(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def person(dbsession, city):
    return make_person(dbsession, "flow@example.jp", city, interests=["food"], name="山田 花子")


@pytest.fixture
def signed_in(testapp, dbsession, person, clock, app_settings):
    sign_in(testapp, dbsession, person, clock, app_settings)
    return person


@pytest.fixture
def notifications(dbsession, clock, app_settings):
    return NotificationService(dbsession, clock=clock, settings=app_settings)


def count(dbsession, model, *criteria):
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(model).where(*criteria))


# -- the feed, interests and follows ---------------------------------------------------

def test_my_page_shows_the_feed(testapp, dbsession, city, signed_in):
    post = make_post(dbsession, city, "oyaki", title="おやき作り体験")
    post.tag_rows.append(ContentTag(tag="food"))
    make_post(dbsession, city, "other", title="雪かきのお願い")
    dbsession.flush()
    page = testapp.get("/my/")
    assert "あなたへのおすすめ" in page.text
    assert "おやき作り体験" in page.text and "雪かきのお願い" not in page.text
    assert page.html.find("a", string="おやき作り体験")["href"].endswith(
        f"/s/{NAGANO_CITY}/posts/oyaki")


def test_choosing_interests_and_following_a_site(testapp, dbsession, city, signed_in, clock,
                                                app_settings):
    matsumoto = make_site(dbsession, MATSUMOTO)
    page = testapp.get("/my/interests")
    assert "関心分野とフォロー中の自治体" in page.text
    form = page.forms["deform"]
    for box in form.fields["checkbox"]:
        box.checked = box._value in ("nature", "tourism")
    page = form.submit("save").follow()
    assert "関心分野を保存しました。" in page.text

    registered = testapp.get("/my/interests", {"q": "長野市"})
    assert not [f for f in registered.forms.values() if f.action.endswith("/follow")]
    assert "フォロー中" in registered.html.find(id="find-heading").parent.text

    found = testapp.get("/my/interests", {"q": "松本"})
    follow = next(f for f in found.forms.values() if f.action.endswith("/my/interests/follow"))
    assert follow["site"].value == MATSUMOTO
    page = follow.submit().follow()
    assert "松本市をフォローしました。" in page.text
    assert count(dbsession, SiteFollow, SiteFollow.site_id == matsumoto.id) == 1

    unfollow = next(f for f in page.forms.values()
                    if f.action.endswith("/my/interests/unfollow"))
    assert unfollow["site"].value == MATSUMOTO
    assert "松本市のフォローをやめました。" in unfollow.submit().follow().text
    assert count(dbsession, SiteFollow) == 0
    assert FeedService(dbsession, clock=clock, settings=app_settings).interests(signed_in) == {
        "nature", "tourism"}


def test_unknown_interests_are_refused_on_the_form(testapp, signed_in):
    page = testapp.get("/my/interests")
    token = page.forms["deform"]["csrf_token"].value
    answer = testapp.post("/my/interests", {"csrf_token": token, "__start__": "interests:sequence",
                                            "checkbox": "gambling", "__end__": "interests:sequence",
                                            "save": "save"}, status=400)
    assert "gambling" in answer.text


# -- the inbox -------------------------------------------------------------------------

def test_inbox_with_the_unread_count_in_the_header(testapp, dbsession, city, signed_in,
                                                  notifications):
    other = make_person(dbsession, "other-flow@example.jp", city)
    for title in ("一通目", "二通目"):
        notifications.notify([signed_in.id, other.id], "targeted_post", city, title, "本文",
                             f"/s/{NAGANO_CITY}/", via_outbox=True)
    page = testapp.get("/my/")
    assert "未読2件" in page.html.find("nav", class_="header-nav").text

    inbox = testapp.get("/my/inbox")
    assert "二通目" in inbox.text and "一通目" in inbox.text
    read_one = next(f for f in inbox.forms.values() if f.action.endswith("/read"))
    read_one.submit().follow()
    assert "未読1件" in testapp.get("/my/").text

    others = dbsession.scalar(select(InboxMessage.id).where(InboxMessage.account_id == other.id))
    token = inbox.forms[0]["csrf_token"].value
    testapp.post(f"/my/inbox/{others}/read", {"csrf_token": token}, status=303)
    assert count(dbsession, InboxMessage, InboxMessage.account_id == other.id,
                 InboxMessage.read_at.is_(None)) == 2

    testapp.post("/my/inbox/read-all", {"csrf_token": token}, status=303)
    assert "未読" not in testapp.get("/my/").html.find("nav", class_="header-nav").text


def test_marking_read_needs_the_csrf_token(testapp, dbsession, city, signed_in, notifications):
    notifications.notify([signed_in.id], "targeted_post", city, "件名", "", via_outbox=True)
    testapp.post("/my/inbox/read-all", status=400)
    assert count(dbsession, InboxMessage, InboxMessage.read_at.is_(None)) == 1


def test_staff_and_visitors_have_no_inbox(testapp, dbsession, city, clock, app_settings):
    assert "/signin" in testapp.get("/my/inbox", status=302).location
    sign_in(testapp, dbsession, make_staff(dbsession, city, "editor"), clock, app_settings)
    testapp.get("/my/inbox", status=403)
    assert "お知らせ" not in testapp.get(f"/s/{NAGANO_CITY}/").html.find(
        "nav", class_="header-nav").text


# -- preferences -----------------------------------------------------------------------

def test_saving_preferences_for_a_site(testapp, dbsession, city, signed_in):
    page = testapp.get("/my/notifications")
    form = next(f for f in page.forms.values() if f.action.endswith("/my/notifications"))
    for box in form.fields["email"]:
        box.checked = box._value == "consultation_reply"
    for box in form.fields["inbox"]:
        box.checked = box._value in ("consultation_reply", "targeted_post")
    assert "長野市のお知らせの設定を保存しました。" in form.submit().follow().text

    dbsession.expire_all()
    prefs = {p.kind: (p.email, p.inbox) for p in dbsession.scalars(
        select(NotificationPreference).where(NotificationPreference.account_id == signed_in.id))}
    assert prefs["consultation_reply"] == (True, True)
    assert prefs["targeted_post"] == (False, True)
    assert prefs["new_project"] == (False, False)


def test_forged_preferences_are_refused(testapp, dbsession, city, signed_in):
    token = testapp.get("/my/notifications").forms[0]["csrf_token"].value
    testapp.post("/my/notifications", {"csrf_token": token, "site": NAGANO_CITY,
                                       "email": "everything"}, status=400)
    testapp.post("/my/notifications", {"csrf_token": token, "site": "999999"}, status=404)
    assert count(dbsession, NotificationPreference) == 0


# -- one-click unsubscribe from a real mail ---------------------------------------------

def unsubscribe_path(mail) -> str:
    header = dict(mail["headers"])["List-Unsubscribe"]
    match = re.fullmatch(r"<http://localhost(/unsubscribe/[^>]+)>", header)
    assert match, header
    assert match.group(0)[1:-1] in mail["text"]
    return match.group(1)


def test_one_click_unsubscribe_without_signing_in_or_csrf(app, connection, clock, dbsession,
                                                         city, person, notifications, catcher):
    notifications.consultation_reply(person.id, city, "/my/")
    [mail] = catcher.messages(to="flow@example.jp")
    assert dict(mail["headers"])["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = unsubscribe_path(mail)
    browser = stranger(app, connection, clock)

    page = browser.get(path)
    assert "長野市からの「相談への返信」を停止しますか。" in page.text
    assert count(dbsession, Unsubscribe) == 0

    done = browser.post(path, "List-Unsubscribe=One-Click",
                        content_type="application/x-www-form-urlencoded")
    assert "長野市からの「相談への返信」を停止しました。" in done.text
    assert done.headers["Cache-Control"] == "no-store"
    assert count(dbsession, Unsubscribe, Unsubscribe.account_id == person.id,
                 Unsubscribe.kind == "consultation_reply") == 1

    catcher.clear()
    notifications.consultation_reply(person.id, city, "/my/")
    assert catcher.messages(to="flow@example.jp") == []


def test_the_page_can_stop_everything_from_the_site(app, connection, clock, dbsession, city,
                                                    person, notifications, catcher):
    notifications.consultation_reply(person.id, city, "/my/")
    path = unsubscribe_path(catcher.messages(to="flow@example.jp")[0])
    browser = stranger(app, connection, clock)
    form = next(f for f in browser.get(path).forms.values() if "scope" in f.fields)
    assert "長野市からのお知らせを停止しました。" in form.submit().text
    assert count(dbsession, Unsubscribe, Unsubscribe.kind == "all") == 1


@pytest.mark.parametrize("change", [
    lambda path: path.replace("/unsubscribe/", "/unsubscribe/9"),
    lambda path: re.sub(r"\.[^.]+$", ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", path),
    lambda path: path.replace("consultation_reply", "targeted_post"),
    lambda path: "/unsubscribe/not-a-token",
])
def test_a_forged_link_is_refused(app, connection, clock, dbsession, city, person,
                                  notifications, catcher, change):
    notifications.consultation_reply(person.id, city, "/my/")
    path = change(unsubscribe_path(catcher.messages(to="flow@example.jp")[0]))
    browser = stranger(app, connection, clock)
    assert "このリンクは無効です。" in browser.get(path, status=404).text
    browser.post(path, "List-Unsubscribe=One-Click", status=404)
    assert count(dbsession, Unsubscribe) == 0


def test_other_posts_without_a_token_are_still_refused(app, connection, clock, city, person):
    """Only the unsubscribe view is exempt from the CSRF check."""
    stranger(app, connection, clock).post("/signin", {"email": "a@example.jp"}, status=400)


# -- the editor's target-and-send screen -------------------------------------------------

@pytest.fixture
def reviewer(testapp, dbsession, city, clock, app_settings):
    account = make_staff(dbsession, city, "editor", is_reviewer=True)
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def test_editor_targets_sees_the_count_and_sends(testapp, dbsession, city, reviewer, clock,
                                                 app_settings, catcher):
    make_post(dbsession, city, "oyaki", title="おやき作り体験", summary="信州の味を一緒に作りましょう。")
    food = [make_person(dbsession, f"food{i}@example.jp", city, interests=["food"])
            for i in range(3)]
    make_person(dbsession, "premium-food@example.jp", city, tier="premium", interests=["food"])
    make_person(dbsession, "snow@example.jp", city, interests=["snow_removal"])
    at_home = make_person(dbsession, "home@example.jp", city, at_home=True, interests=["food"])
    url = f"/s/{NAGANO_CITY}/posts/oyaki/target"

    page = testapp.get(url)
    assert "配信対象と送信" in page.text and not page.html.find("button", attrs={"name": "send"})
    form = page.forms["deform"]
    for box in form.fields["checkbox"]:
        box.checked = box._value in ("basic", "food")
    page = form.submit("save").follow()
    assert "4人" in page.html.find("p", attrs={"role": "status"}).text  # at home included

    send = next(f for f in page.forms.values() if "send" in f.fields)
    page = send.submit("send").follow()
    assert "4人への送信を始めました。" in page.text and "送信済み" in page.text
    assert count(dbsession, InboxMessage) == 4
    assert count(dbsession, OutboxMail, OutboxMail.state == "queued") == 4
    testapp.post(url, {"csrf_token": send["csrf_token"].value, "send": "1"}, status=409)

    sender = OutboxSender(dbsession, clock=clock, settings=app_settings)
    sender.record(sender.deliver(sender.claim(10), SMTPTransport(app_settings)))
    mails = [catcher.messages(to=person.email) for person in food + [at_home]]
    assert [len(m) for m in mails] == [1, 1, 1, 1]
    assert mails[0][0]["subject"] == "おやき作り体験"
    assert "信州の味を一緒に作りましょう。" in mails[0][0]["text"]
    assert f"http://localhost/s/{NAGANO_CITY}/posts/oyaki" in mails[0][0]["text"]
    assert unsubscribe_path(mails[0][0]).startswith("/unsubscribe/")


def test_a_draft_cannot_be_sent(testapp, dbsession, city, reviewer):
    make_post(dbsession, city, "draft", state="draft")
    page = testapp.get(f"/s/{NAGANO_CITY}/posts/draft/target").forms["deform"].submit(
        "save").follow()
    assert "公開中でサイトに表示されている記事だけを送信できます。" in page.text
    token = page.forms["deform"]["csrf_token"].value
    testapp.post(f"/s/{NAGANO_CITY}/posts/draft/target", {"csrf_token": token, "send": "1"},
                 status=403)


def test_only_site_admins_and_reviewers_may_send(testapp, dbsession, city, clock,
                                                 app_settings):
    make_post(dbsession, city, "hello")
    url = f"/s/{NAGANO_CITY}/posts/hello/target"
    assert "/signin" in testapp.get(url, status=302).location
    sign_in(testapp, dbsession, make_staff(dbsession, city, "editor"), clock, app_settings)
    testapp.get(url, status=403)
    sign_in(testapp, dbsession, make_staff(dbsession, city, "site_admin"), clock, app_settings)
    testapp.get(url, status=200)
