"""Needs intake (/s/{code}/needs/): registrants, partners and coordinators send a local need;
coordinators accept it, decline it with a reason the sender reads, or make it a draft
project that links back; the site's statistics count them; nobody else sees them."""
import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, Need, Project

from ..content_factories import csrf_token, signed_in_staff
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant

BASE = f"/s/{NAGANO_CITY}/needs/"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


def send(testapp, title="稲刈りの手伝い", **fields):
    form = testapp.get(BASE).forms["deform"]
    values = {"title": title, "description": "高齢の農家さんの田んぼで稲刈りを手伝ってほしい。",
              "place": "篠ノ井地区", "timing": "9月の週末", "people_wanted": "5",
              "skills": "体力のある方", "contact": "090-0000-0000", **fields}
    for name, value in values.items():
        form[name] = value
    return form.submit("send", expect_errors=True)


def as_registrant(testapp, dbsession, clock, app_settings, email="sender@example.jp"):
    account = make_registrant(dbsession, email)
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def test_a_registrant_sends_a_need_and_reads_its_state(testapp, dbsession, site, clock,
                                                       app_settings):
    sender = as_registrant(testapp, dbsession, clock, app_settings)
    answer = send(testapp)
    assert answer.status_int == 303
    need = dbsession.scalar(select(Need))
    assert (need.submitted_by_id, need.submitter_role, need.state, need.people_wanted) == (
        sender.id, "registrant", "new", 5)
    page = answer.follow()
    assert "稲刈りの手伝い" in page.text and "新規" in page.text
    assert "090-0000-0000" not in page.text, "the contact is for the site's staff"
    listing = testapp.get(BASE)
    assert "あなたが送ったニーズ" in listing.text and "このサイトに届いたニーズ" not in listing.text


def test_bad_input_re_renders_the_form_with_messages(testapp, dbsession, site, clock,
                                                     app_settings):
    as_registrant(testapp, dbsession, clock, app_settings)
    answer = send(testapp, title="", people_wanted="0")
    assert answer.status_int == 400 and "1〜1000 人で書いてください" in answer.text
    assert dbsession.scalar(select(Need)) is None


def test_a_coordinator_declines_with_a_reason_the_sender_reads(testapp, dbsession, site,
                                                               clock, app_settings):
    sender = as_registrant(testapp, dbsession, clock, app_settings)
    send(testapp)
    need = dbsession.scalar(select(Need))
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "coordinator")
    page = testapp.get(f"{BASE}{need.id}")
    assert "090-0000-0000" in page.text
    empty = page.forms["decline"].submit("decline", status=400)
    assert 'id="error-' in empty.text and need.state == "new"
    form = page.forms["decline"]
    form["reason"] = "今年は地元の方だけで足りる見込みです。"
    form.submit("decline", status=303)
    dbsession.expire_all()
    assert need.state == "declined" and need.decided_at is not None
    sign_in(testapp, dbsession, sender, clock, app_settings)
    seen = testapp.get(f"{BASE}{need.id}")
    assert "見送った理由" in seen.text and "地元の方だけで足りる" in seen.text
    testapp.post(f"{BASE}{need.id}/accept", {"csrf_token": csrf_token(testapp, BASE)},
                 status=403)


def test_accept_then_make_a_project_that_links_back(testapp, dbsession, site, clock,
                                                    app_settings):
    partner = make_staff(dbsession, site, "partner")
    sign_in(testapp, dbsession, partner, clock, app_settings)
    send(testapp, title="りんごの摘果")
    need = dbsession.scalar(select(Need))
    assert need.submitter_role == "partner"
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "coordinator")
    testapp.post(f"{BASE}{need.id}/accept", {"csrf_token": csrf_token(testapp, BASE)},
                 status=303)
    dbsession.expire_all()
    assert need.state == "accepted"
    page = testapp.get(f"{BASE}{need.id}")
    form = page.forms["project"]
    form["field"] = "agriculture"
    edit = form.submit("project", status=303).follow()
    dbsession.expire_all()
    project = dbsession.scalar(select(Project))
    assert (need.state, need.project_id) == ("became_project", project.id)
    assert project.title == "りんごの摘果" and project.state == "draft"
    assert "必要な人数: 5" in project.body and "場所: 篠ノ井地区" in project.body
    assert f"{BASE}{need.id}" in edit.text, "the project's page links back to the need"
    actions = set(dbsession.scalars(select(AuditEntry.action)))
    assert {"need.accepted", "need.became_project", "project.create"} <= actions
    again = testapp.post(f"{BASE}{need.id}/decline",
                         {"csrf_token": csrf_token(testapp, BASE), "reason": "x"},
                         expect_errors=True)
    assert again.status_int in (400, 403, 409)
    dbsession.expire_all()
    assert need.state == "became_project"


def test_statistics_count_needs_received_accepted_and_made_projects(
        testapp, dbsession, site, clock, app_settings):
    sender = make_registrant(dbsession, "s@example.jp")
    for state in ("new", "accepted", "declined", "became_project", "became_project"):
        dbsession.add(Need(site_id=site.id, submitted_by_id=sender.id,
                           submitter_role="registrant", title="x", description="y",
                           state=state, created_at=clock()))
    dbsession.flush()
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "coordinator")
    table = testapp.get(f"/s/{NAGANO_CITY}/stats").html.find("table",
                                                               attrs={"data-table": "needs"})
    assert [td.get_text() for td in table.select("td")] == ["5", "3", "2"]


@pytest.mark.parametrize("role", ["editor", "other_site_coordinator", "other_registrant"])
def test_others_neither_read_nor_decide(testapp, dbsession, site, clock, app_settings, role):
    as_registrant(testapp, dbsession, clock, app_settings)
    send(testapp)
    need = dbsession.scalar(select(Need))
    if role == "editor":
        account = make_staff(dbsession, site, "editor")
    elif role == "other_site_coordinator":
        account = make_staff(dbsession, make_site(dbsession, MATSUMOTO), "coordinator")
    else:
        account = make_registrant(dbsession, "nosy@example.jp")
    sign_in(testapp, dbsession, account, clock, app_settings)
    assert testapp.get(f"{BASE}{need.id}", expect_errors=True).status_int == 403
    if role == "editor":
        assert testapp.get(BASE, expect_errors=True).status_int == 403


def test_visitors_are_asked_to_sign_in(testapp, site):
    answer = testapp.get(BASE, expect_errors=True)
    assert answer.status_int in (302, 303, 403)


def test_the_staff_screen_and_the_site_page_link_to_it(testapp, dbsession, site, clock,
                                                      app_settings):
    assert f"{BASE}" in testapp.get(f"/s/{NAGANO_CITY}/").text
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "coordinator")
    assert f"{BASE}" in testapp.get(f"/s/{NAGANO_CITY}/manage").text
