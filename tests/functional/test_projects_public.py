"""What visitors and registrants see: the activity list, a project's page, applying and
cancelling an application."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import SessionApplication

from ..activity_factories import make_partner, make_project, make_session
from ..conftest import NOW
from ..content_factories import csrf_token, signed_in_staff
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, sign_in
from ..notice_factories import only_notice
from ..registrant_factories import make_registrant

BASE = f"/s/{NAGANO_CITY}"
QUESTIONS = [{"key": "q1", "label": "アレルギーの有無", "required": True},
             {"key": "q2", "label": "車で来ますか", "required": False}]


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def project(dbsession, site):
    return make_project(dbsession, site, "りんご収穫の手伝い", questions=QUESTIONS,
                        conditions="- 長靴を持参\n- <b>雨天中止</b>",
                        partner=make_partner(dbsession, site, "中央町自治会"))


@pytest.fixture
def session(dbsession, project):
    return make_session(dbsession, project, NOW + timedelta(days=7), capacity=1,
                        application_required=True, place="りんご園")


def session_url(project, session, name=""):
    return f"{BASE}/projects/{project.id}/sessions/{session.id}/{name}"


def as_registrant(testapp, dbsession, clock, app_settings, email="person@example.jp", **kw):
    person = make_registrant(dbsession, email, **kw)
    sign_in(testapp, dbsession, person, clock, app_settings)
    return person


def test_list_shows_visible_projects_with_their_coming_dates(testapp, dbsession, site, project,
                                                             session):
    make_session(dbsession, project, NOW - timedelta(days=3), place="昨年の畑")
    make_project(dbsession, site, "下書きの活動", state="draft")
    make_project(dbsession, make_site(dbsession, MATSUMOTO), "松本の活動")
    make_project(dbsession, site, "雪かき", field="snow_removal")
    page = testapp.get(f"{BASE}/projects/")
    assert "担い手活動" in page.text
    assert "りんご収穫の手伝い" in page.text and "りんご園" in page.text
    assert "2026年12月2日(水) 12:00" in page.text and "昨年の畑" not in page.text
    assert "下書きの活動" not in page.text and "松本の活動" not in page.text
    assert page.text.index("りんご収穫の手伝い") < page.text.index("雪かき")
    filtered = testapp.get(f"{BASE}/projects/?field=snow_removal")
    assert "雪かき" in filtered.text and "りんご収穫の手伝い" not in filtered.text
    assert testapp.get(f"{BASE}/projects/?field=karaoke", status=400)


def test_project_page_shows_sessions_places_left_and_how_to_take_part(
        testapp, dbsession, project, session):
    open_session = make_session(dbsession, project, NOW + timedelta(days=8), place="集会所")
    called_off = make_session(dbsession, project, NOW + timedelta(days=9), place="体育館",
                              application_required=True)
    called_off.cancelled_at = NOW
    dbsession.flush()
    page = testapp.get(f"{BASE}/projects/{project.id}")
    assert "実施：中央町自治会" in page.text
    assert "<li>長靴を持参</li>" in page.text and "<b>雨天中止" not in page.text
    assert "申込が必要です。残り 1 人分の枠があります。" in page.text
    assert "申込不要です。当日、直接お越しください。" in page.text
    cards = page.html.select("section li.card")
    assert "中止" in cards[2].text and cards[2].find("a", class_="button") is None
    apply_links = [a["href"] for a in page.html.select("a.button")]
    assert apply_links == [f"http://localhost{session_url(project, session, 'apply')}"]
    assert "集会所" in cards[1].text and open_session.place == "集会所"


def test_public_pages_say_whether_taking_part_counts_toward_premium(testapp, dbsession, site,
                                                                 project):
    other = make_project(dbsession, site, "雪かき", designated=False, field="snow_removal")
    counted = "プレミアム登録の対象活動"
    not_counted = "この活動は、プレミアム登録の回数には数えられません。"
    page = testapp.get(f"{BASE}/projects/{project.id}")
    assert counted in page.text and "12か月に3回以上" in page.text
    assert not_counted not in page.text
    page = testapp.get(f"{BASE}/projects/{other.id}")
    assert not_counted in page.text and counted not in page.text
    cards = {card.h2.text: card.text for card in testapp.get(f"{BASE}/projects/").html
             .select("ul.cards > li.card")}
    assert counted in cards["りんご収穫の手伝い"] and not_counted in cards["雪かき"]


def test_hidden_projects_look_missing(testapp, dbsession, site):
    draft = make_project(dbsession, site, "下書き", state="draft")
    testapp.get(f"{BASE}/projects/{draft.id}", status=404)
    testapp.get(f"{BASE}/projects/999999", status=404)


def test_registrant_applies_answering_the_questions(testapp, dbsession, clock, app_settings,
                                                    project, session):
    person = as_registrant(testapp, dbsession, clock, app_settings)
    page = testapp.get(session_url(project, session, "apply"))
    assert "アレルギーの有無" in page.text and "申込が必要です。" in page.text
    form = page.forms["deform"]
    form["q2"] = "はい"
    page = form.submit("apply", status=400)
    assert "この質問に回答してください。" in page.text
    assert page.forms["deform"]["q2"].value == "はい"
    page.forms["deform"]["q1"] = "そば"
    project_page = page.forms["deform"].submit("apply", status=303).follow()
    assert "お申込みを受け付けました。参加が確定しています。" in project_page.text
    assert "申込済み（参加確定）" in project_page.text
    application = dbsession.scalar(select(SessionApplication))
    assert (application.account_id, application.state, application.answers) == (
        person.id, "applied", {"q1": "そば", "q2": "はい"})
    again = testapp.post(session_url(project, session, "apply"),
                         {"csrf_token": csrf_token(testapp), "q1": "そば", "apply": "apply"},
                         status=409)
    assert "この回にはすでに申し込まれており、参加が確定しています。" in again.text
    assert len(dbsession.scalars(select(SessionApplication)).all()) == 1


def test_full_session_waitlists_and_a_cancellation_moves_the_next_person_up(
        testapp, dbsession, clock, app_settings, site, project, session, mail_catcher):
    holder = as_registrant(testapp, dbsession, clock, app_settings, "holder@example.jp")
    form = testapp.get(session_url(project, session, "apply")).forms["deform"]
    form["q1"] = "なし"
    form.submit("apply", status=303)
    waiting = as_registrant(testapp, dbsession, clock, app_settings, "waiting@example.jp")
    page = testapp.get(f"{BASE}/projects/{project.id}")
    assert "定員に達しています。キャンセル待ちで申し込めます。" in page.text
    form = testapp.get(session_url(project, session, "apply")).forms["deform"]
    form["q1"] = "なし"
    page = form.submit("apply", status=303).follow()
    assert "キャンセル待ちで受け付けました" in page.text
    mail_catcher.clear()
    sign_in(testapp, dbsession, holder, clock, app_settings)
    page = testapp.get(f"{BASE}/projects/{project.id}")
    withdraw = next(f for f in page.forms.values() if f.action.endswith("/withdraw"))
    assert "申込を取り消しました。" in withdraw.submit(status=303).follow().text
    dbsession.expire_all()
    states = dict(dbsession.execute(
        select(SessionApplication.account_id, SessionApplication.state)).all())
    assert states == {holder.id: "cancelled", waiting.id: "applied"}
    message, mail = only_notice(dbsession, mail_catcher, waiting, site, "application_result",
                                app_settings)
    assert message.subject == "【参加確定】りんご収穫の手伝い"
    assert "りんご園" in mail["text"] and "2026年12月2日(水) 12:00 – 15:00" in mail["text"]
    assert mail_catcher.messages(to=holder.email) == []
    testapp.post(session_url(project, session, "withdraw"),
                 {"csrf_token": csrf_token(testapp)}, status=400)


def test_staff_accounts_cannot_apply(testapp, dbsession, site, clock, app_settings, project,
                                     session):
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "coordinator")
    testapp.get(session_url(project, session, "apply"), status=403)
    page = testapp.get(f"{BASE}/projects/{project.id}")
    assert "この事業を編集する" in page.text


def test_open_sessions_need_no_application(testapp, dbsession, clock, app_settings, project):
    open_session = make_session(dbsession, project, NOW + timedelta(days=2))
    as_registrant(testapp, dbsession, clock, app_settings)
    page = testapp.get(session_url(project, open_session, "apply"))
    assert "この回は申込不要です。" in page.text
    refused = testapp.post(session_url(project, open_session, "apply"),
                           {"csrf_token": csrf_token(testapp), "q1": "なし", "apply": "apply"},
                           status=403)
    assert "申込不要" in refused.text
    assert dbsession.scalar(select(SessionApplication.id)) is None


def test_list_shows_three_coming_dates_counts_the_rest_and_skips_cancelled(
        testapp, dbsession, site, project):
    dates = [make_session(dbsession, project, NOW + timedelta(days=day), place=f"畑{day}")
             for day in (2, 3, 4, 5, 6, 9)]
    dates[0].cancelled_at = NOW
    make_session(dbsession, project, NOW - timedelta(days=1), place="終わった畑")
    later = make_project(dbsession, site, "植樹")
    make_session(dbsession, later, NOW + timedelta(days=30), place="山")
    idle = make_project(dbsession, site, "日程未定の活動")
    dbsession.flush()
    page = testapp.get(f"{BASE}/projects/")
    cards = page.html.select("ul.cards > li.card")
    assert [card.h2.text for card in cards] == ["りんご収穫の手伝い", "植樹", "日程未定の活動"]
    apple = cards[0]
    assert "中央町自治会" in apple.text
    assert [li.text.split(" ・ ")[1] for li in apple.select("ul li")] == ["畑3", "畑4", "畑5"]
    assert "ほか 2 回" in apple.text
    assert "畑2" not in page.text and "終わった畑" not in page.text
    assert "山" in cards[1].text and "more" not in cards[1].text
    assert idle.id and cards[2].select("ul li") == []
