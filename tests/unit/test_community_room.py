"""The community room: who takes part, the flood limit on the clock, reports, and hiding
with a reason that is mailed to the author."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, RoomReport
from furusato_cms.services.community_room import POSTS_PER_WINDOW, WINDOW, CommunityRoomService
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.views.consultations import message_html

from ..community_factories import actor_for, make_member, make_thread, open_room
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff
from ..registrant_factories import make_registrant


@pytest.fixture
def site(dbsession):
    return open_room(dbsession, make_site(dbsession, NAGANO_CITY))


@pytest.fixture
def service(dbsession, clock, app_settings):
    return CommunityRoomService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def member(dbsession, site):
    return make_member(dbsession, site, "member@example.jp", name="会員 一郎")


@pytest.fixture
def moderator(dbsession, site):
    return make_staff(dbsession, site, "coordinator", email="mod@example.jp")


def test_registered_people_and_staff_take_part_others_do_not(service, dbsession, site, member,
                                                           moderator):
    assert service.check_member(site, member) is False
    assert service.check_member(site, moderator) is True
    stranger = make_registrant(dbsession, "stranger@example.jp")
    with pytest.raises(NotAllowed, match="registered with"):
        service.start_thread(stranger, site, title="題", body="本文")
    elsewhere = make_member(dbsession, make_site(dbsession, MATSUMOTO), "else@example.jp")
    with pytest.raises(NotAllowed):
        service.check_member(site, elsewhere)
    thread = service.start_thread(moderator, site, title="ようこそ", body="市の担当です")
    assert service.posts(thread).items[0].from_staff


def test_a_room_switched_off_refuses_everyone(service, dbsession, site, member, moderator):
    thread, _post = make_thread(dbsession, site, member)
    service.set_enabled(actor_for(moderator), site, False)
    for person in (member, moderator):
        with pytest.raises(NotAllowed, match="closed"):
            service.reply(person, thread, "こんにちは")
    assert dbsession.scalars(select(AuditEntry.action)).all() == ["room.disable"]


def test_threads_and_replies(service, dbsession, site, member, clock):
    thread = service.start_thread(member, site, title="  りんご  の話 ", body="収穫しました")
    assert thread.title == "りんご の話"
    clock.advance(timedelta(minutes=1))
    service.reply(member, thread, "続きです")
    assert thread.last_post_at == clock()
    assert [p.body for p in service.posts(thread).items] == ["収穫しました", "続きです"]
    assert service.post_counts([thread.id]) == {thread.id: 2}
    for title, body, field in (("", "本文", "title"), ("題" * 101, "本文", "title"),
                               ("題", " \n ", "body"), ("題", "x" * 4001, "body")):
        with pytest.raises(InvalidInput) as refused:
            service.start_thread(member, site, title=title, body=body)
        assert refused.value.field == field


def test_the_flood_limit_counts_posts_on_the_clock(service, dbsession, site, member, clock):
    thread = service.start_thread(member, site, title="連投", body="1")
    for number in range(2, POSTS_PER_WINDOW + 1):
        clock.advance(timedelta(minutes=1))
        service.reply(member, thread, str(number))
    with pytest.raises(NotAllowed, match="please wait") as refused:
        service.reply(member, thread, "多すぎ")
    assert refused.value.field == "body"
    assert refused.value.message.mapping["minutes"] == 6
    with pytest.raises(NotAllowed):
        service.start_thread(member, site, title="別の話", body="新しい")
    clock.advance(WINDOW - timedelta(minutes=4))
    service.reply(member, thread, "待ちました")
    other = make_member(dbsession, site, "other@example.jp")
    service.reply(other, thread, "別の人は書けます")


def test_hiding_a_post_tells_its_author_the_reason(service, dbsession, site, member, moderator,
                                                  mail_catcher):
    thread, post = make_thread(dbsession, site, member, body="宣伝です http://spam.example")
    reporter = make_member(dbsession, site, "reporter@example.jp")
    service.report(reporter, post, "宣伝です")
    mail_catcher.clear()
    with pytest.raises(InvalidInput) as refused:
        service.hide_post(actor_for(moderator), post, "  ")
    assert refused.value.field == "reason"
    service.hide_post(actor_for(moderator), post, "営利目的の宣伝のため")
    assert (post.hidden_reason, post.hidden_by_id) == ("営利目的の宣伝のため", moderator.id)
    [mail] = mail_catcher.messages(to=member.email)
    assert "営利目的の宣伝のため" in mail["text"] and "はじめまして" in mail["text"]
    assert "> 宣伝です http://spam.example" in mail["text"]
    assert service.reported(site) == []
    assert dbsession.scalar(select(RoomReport.handled_at)) is not None
    with pytest.raises(NotAllowed):
        service.hide_post(actor_for(moderator), post, "もう一度")
    [entry] = dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "room.hide_post"))
    assert entry.detail == {"reason": "営利目的の宣伝のため"}


def test_a_hidden_thread_takes_no_replies(service, dbsession, site, member, moderator,
                                          mail_catcher):
    thread, _post = make_thread(dbsession, site, member, title="荒れた話題")
    mail_catcher.clear()
    service.hide_thread(actor_for(moderator), thread, "個人攻撃が続いたため")
    assert len(mail_catcher.messages(to=member.email)) == 1
    with pytest.raises(NotAllowed, match="hidden"):
        service.reply(member, thread, "まだ書きたい")
    assert service.threads(site).items == []
    assert service.threads(site, include_hidden=True).items == [thread]


def test_reports_once_per_person_never_on_own_posts(service, dbsession, site, member,
                                                    moderator):
    _thread, post = make_thread(dbsession, site, member)
    with pytest.raises(NotAllowed, match="own post"):
        service.report(member, post, "自分")
    first = make_member(dbsession, site, "first@example.jp")
    second = make_member(dbsession, site, "second@example.jp")
    with pytest.raises(InvalidInput):
        service.report(first, post, "")
    service.report(first, post, "不快です")
    with pytest.raises(Conflict, match="already reported"):
        service.report(first, post, "もう一度")
    service.report(second, post, "私も")
    [reported] = service.reported(site)
    assert (reported.post, reported.count, reported.reasons) == (post, 2, ["不快です", "私も"])
    service.keep_post(actor_for(moderator), post)
    assert service.reported(site) == []
    assert post.hidden_at is None


@pytest.mark.parametrize("text, html", [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("[x](javascript:alert(1)) javascript:alert(2)",
     "[x](javascript:alert(1)) javascript:alert(2)"),
    ("詳しくはhttps://example.jp/a?b=1&c=2をご覧ください。",
     '詳しくは<a href="https://example.jp/a?b=1&amp;c=2" rel="nofollow ugc noopener">'
     "https://example.jp/a?b=1&amp;c=2</a>をご覧ください。"),
    ("(see http://example.jp/x).",
     '(see <a href="http://example.jp/x" rel="nofollow ugc noopener">http://example.jp/x</a>).'),
    ('https://example.jp/"onmouseover="alert(1)',
     '<a href="https://example.jp/" rel="nofollow ugc noopener">https://example.jp/</a>'
     "&#34;onmouseover=&#34;alert(1)"),
    ("一行目\n二行目", "一行目<br>\n二行目"),
    ("ftp://example.jp data:text/html,x", "ftp://example.jp data:text/html,x"),
])
def test_message_text_is_escaped_and_only_web_links_are_live(text, html):
    assert str(message_html(text)) == html
