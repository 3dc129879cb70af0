"""Monitor surveys through the screens: an editor builds and opens one, the target group
answers once, others are told why not, and the results come as charts, tables and CSV."""
import pytest
from sqlalchemy import select

from furusato_cms.models import MonitorResponse, MonitorSurvey

from ..community_factories import make_member, make_monitor_survey
from ..factories import NAGANO_CITY, make_site, make_staff, sign_in
from .test_register import input_name

BASE = f"/s/{NAGANO_CITY}/surveys/"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


def as_(testapp, dbsession, account, clock, app_settings):
    testapp.reset()
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def form_posting_to(page, end):
    return next(f for f in page.forms.values() if (f.action or "").endswith(end))


def test_an_editor_builds_and_opens_a_survey_for_premium_registrants(testapp, dbsession, site,
                                                                     clock, app_settings):
    premium = make_member(dbsession, site, "premium@example.jp", tier="premium")
    make_member(dbsession, site, "basic@example.jp")
    as_(testapp, dbsession, make_staff(dbsession, site, "editor"), clock, app_settings)
    form = testapp.get(BASE + "new").forms["deform"]
    form["title"] = "移住に関するアンケート"
    form["target_tier"] = "premium"
    page = form.submit("save", status=303).follow()
    assert "下書き" in page.text and "プレミアム" in page.text
    survey = dbsession.scalars(select(MonitorSurvey)).one()
    form = testapp.get(f"{BASE}{survey.id}/questions/new").forms["deform"]
    form["kind"] = "single"
    form["label"] = "移住に関心がありますか"
    form["choices"] = "はい\nいいえ"
    form.submit("save", status=303)
    page = testapp.get(f"{BASE}{survey.id}/manage")
    assert "移住に関心がありますか" in page.text
    assert "<dd>1</dd>" in page.text
    form_posting_to(page, "/open").submit(status=303)
    dbsession.expire_all()
    assert survey.state == "open"
    assert testapp.get(f"{BASE}{survey.id}/questions/new").forms["deform"].submit(
        "save", status=403)

    as_(testapp, dbsession, premium, clock, app_settings)
    assert "移住に関するアンケート" in testapp.get("/my/surveys").text


def test_the_target_group_answers_once(testapp, dbsession, site, clock, app_settings):
    survey = make_monitor_survey(dbsession, site, target_relationship_type=2, questions=[
        ("single", "満足していますか", ["はい", "いいえ"]), ("text", "ご意見", [])])
    survey.questions[0].required = True
    person = make_member(dbsession, site, "answer@example.jp", relationship_types=(2,))
    as_(testapp, dbsession, person, clock, app_settings)
    page = testapp.get(f"{BASE}{survey.id}")
    form = page.forms["deform"]
    page = form.submit("send", status=400)
    assert "この質問に回答してください" in page.text
    form = page.forms["deform"]
    form[input_name(form, f"q{survey.questions[0].id}")] = "c1"
    form[f"q{survey.questions[1].id}"] = "<script>alert(1)</script>"
    form.submit("send", status=303)
    page = testapp.get(f"{BASE}{survey.id}", status=409)
    assert "すでに回答済みです" in page.text
    form.submit("send", status=409)
    assert len(dbsession.scalars(select(MonitorResponse)).all()) == 1
    assert "回答済み" in testapp.get("/my/surveys").text


def test_people_outside_the_group_and_late_answers_are_told_why(testapp, dbsession, site,
                                                                 clock, app_settings):
    survey = make_monitor_survey(dbsession, site, target_tier="premium")
    outsider = make_member(dbsession, site, "outsider@example.jp")
    as_(testapp, dbsession, outsider, clock, app_settings)
    page = testapp.get(f"{BASE}{survey.id}", status=403)
    assert "対象に含まれていません" in page.text
    draft = make_monitor_survey(dbsession, site, title="準備中の下書き", state="draft")
    assert "準備中の下書き" not in testapp.get(f"{BASE}{draft.id}", status=404).text
    member = make_member(dbsession, site, "late@example.jp", tier="premium")
    as_(testapp, dbsession, member, clock, app_settings)
    form = testapp.get(f"{BASE}{survey.id}").forms["deform"]
    survey.state = "closed"
    dbsession.flush()
    form[input_name(form, f"q{survey.questions[0].id}")] = "c1"
    page = form.submit("send", status=403)
    assert "このアンケートは終了しました" in page.text
    assert dbsession.scalars(select(MonitorResponse)).all() == []


def test_results_as_charts_tables_and_csv(testapp, dbsession, site, clock, app_settings):
    survey = make_monitor_survey(dbsession, site, questions=[
        ("single", "来訪頻度", ["毎月", "毎年"])])
    for number, choice in enumerate(["c1", "c1", "c2"]):
        person = make_member(dbsession, site, f"p{number}@example.jp")
        as_(testapp, dbsession, person, clock, app_settings)
        form = testapp.get(f"{BASE}{survey.id}").forms["deform"]
        form[input_name(form, f"q{survey.questions[0].id}")] = choice
        form.submit("send", status=303)
    coordinator = make_staff(dbsession, site, "coordinator")
    as_(testapp, dbsession, coordinator, clock, app_settings)
    testapp.get(BASE, status=403)
    testapp.get(f"{BASE}{survey.id}/results", status=403)
    as_(testapp, dbsession, make_staff(dbsession, site, "site_admin"), clock, app_settings)
    page = testapp.get(f"{BASE}{survey.id}/results")
    assert '<svg role="img"' in page.text and "<title" in page.text
    assert '<th scope="row">毎月</th><td>2</td><td>67%</td>' in page.text
    csv = testapp.get(f"{BASE}{survey.id}/results.csv")
    assert csv.body.startswith(b"\xef\xbb\xbf")
    text = csv.body.decode("utf-8-sig")
    assert text.splitlines()[0] == "順番,回答日,来訪頻度"
    assert text.count("毎月") == 2 and "example.jp" not in text
