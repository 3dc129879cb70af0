"""Staff screens for projects, sessions and applicants, and for partner organisations."""
import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from furusato_cms.models import ActivitySession, AuditEntry, PartnerOrganisation, Project
from furusato_cms.services.session_applications import ApplicationService

from ..activity_factories import make_partner, make_project, make_session
from ..conftest import NOW
from ..content_factories import csrf_token, signed_in_staff
from ..factories import NAGANO_CITY, make_site
from ..notice_factories import only_notice
from ..notification_factories import make_person
from ..registrant_factories import make_registrant

BASE = f"/s/{NAGANO_CITY}"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def as_coordinator(testapp, dbsession, site, clock, app_settings):
    return signed_in_staff(testapp, dbsession, site, clock, app_settings, "coordinator")


@pytest.fixture
def as_admin(testapp, dbsession, site, clock, app_settings):
    return signed_in_staff(testapp, dbsession, site, clock, app_settings, "site_admin")


def audit(dbsession, action):
    dbsession.expire_all()
    return dbsession.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def fill(form, **values):
    for name, value in values.items():
        form[name] = value
    return form


def choose(form, value):
    """Tick the radio button with ``value`` (deform names radio groups by their id)."""
    for name, fields in form.fields.items():
        if any(getattr(f, "options", None) and value in [o[0] for o in f.options]
               for f in fields):
            form[name] = value
            return form
    raise AssertionError(f"no radio button for {value}")


def form_to(page, action_end):
    return next(f for f in page.forms.values() if (f.action or "").endswith(action_end))


def test_coordinator_creates_a_project_adds_a_session_and_publishes(
        testapp, dbsession, site, as_coordinator, app_settings, mail_catcher):
    partner = make_partner(dbsession, site, "中央町自治会", pattern="per_project")
    fan = make_person(dbsession, "fan@example.jp", site, interests=["agriculture"])
    mail_catcher.clear()
    page = testapp.get(f"{BASE}/projects/new")
    assert "新しい事業" in page.text and "中央町自治会" in page.text
    form = fill(page.forms["deform"], title="りんご収穫のお手伝い", field="agriculture",
                partner_id=str(partner.id), conditions="長靴を持参してください",
                questions="* アレルギーの有無\n車で来ますか")
    edit = form.submit("save", status=303).follow()
    assert "下書き" in edit.text and "対象外です" in edit.text
    project = dbsession.scalar(select(Project).where(Project.title == "りんご収穫のお手伝い"))
    assert (project.partner_id, project.designated, project.conditions) == (
        partner.id, False, "長靴を持参してください")
    assert project.questions == [
        {"key": "q1", "label": "アレルギーの有無", "required": True},
        {"key": "q2", "label": "車で来ますか", "required": False}]

    form = fill(testapp.get(f"{BASE}/projects/{project.id}/sessions/new").forms["deform"],
                starts_at="2026-12-01 09:00", ends_at="2026-12-01T12:30", place="中央公民館",
                capacity="5")
    choose(form, "application")
    edit = form.submit("save", status=303).follow()
    session = dbsession.scalar(select(ActivitySession).where(
        ActivitySession.project_id == project.id))
    assert (session.starts_at, session.ends_at, session.capacity,
            session.application_required) == (
        datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc),
        datetime(2026, 12, 1, 3, 30, tzinfo=timezone.utc), 5, True)
    assert "2026年12月1日(火) 9:00" in edit.text and "12:30" in edit.text
    assert "記録済みの出席は、活動当日の指定のまま数えます" in edit.text

    token = csrf_token(testapp)
    testapp.post(f"{BASE}/projects/{project.id}/designate",
                 {"csrf_token": token, "designated": "1"}, status=303)
    testapp.post(f"{BASE}/projects/{project.id}/transition",
                 {"csrf_token": token, "to_state": "published"}, status=303)
    public = testapp.get(f"{BASE}/projects/{project.id}")
    assert "りんご収穫のお手伝い" in public.text and "中央公民館" in public.text
    dbsession.expire_all()
    assert (project.state, project.designated) == ("published", True)
    assert [e.detail["designated"] for e in audit(dbsession, "project.designate")] == [True]
    assert len(audit(dbsession, "session.create")) == 1
    message, _mail = only_notice(dbsession, mail_catcher, fan, site, "new_project",
                                 app_settings)
    assert message.subject == "【新しい募集】りんご収穫のお手伝い"


def test_session_form_keeps_input_and_explains_bad_times(testapp, dbsession, site,
                                                         as_coordinator):
    project = make_project(dbsession, site)
    form = fill(testapp.get(f"{BASE}/projects/{project.id}/sessions/new").forms["deform"],
                starts_at="2026-12-01 12:00", ends_at="2026-12-01 09:00", place="体育館",
                capacity="0")
    page = form.submit("save", status=400)
    assert "定員は 1 から" in page.text
    page.forms["deform"]["capacity"] = ""
    page = page.forms["deform"].submit("save", status=400)
    assert "終了日時は開始日時より後にしてください。" in page.text
    assert page.forms["deform"]["place"].value == "体育館"
    form = fill(page.forms["deform"], starts_at="12月1日")
    assert "YYYY-MM-DD" in form.submit("save", status=400).text
    assert dbsession.scalar(select(ActivitySession.id)) is None


def test_project_form_refusals_rerender(testapp, dbsession, site, as_coordinator):
    page = testapp.get(f"{BASE}/projects/new")
    form = fill(page.forms["deform"], title="", questions="\n".join(f"質問{i}" for i in range(11)))
    page = form.submit("save", status=400)
    assert "質問は 10 件までです。" in page.text
    assert dbsession.scalar(select(Project.id)) is None


def test_editing_a_project_saves_a_version_and_stale_forms_are_refused(
        testapp, dbsession, site, as_coordinator, app_settings, clock):
    project = make_project(dbsession, site, questions=[
        {"key": "q1", "label": "アレルギー", "required": True}])
    page = testapp.get(f"{BASE}/projects/{project.id}/edit")
    assert page.forms["deform"]["questions"].value == "* アレルギー"
    stale = testapp.get(f"{BASE}/projects/{project.id}/edit").forms["deform"]
    fill(page.forms["deform"], title="りんご収穫（秋）").submit("save", status=303)
    dbsession.expire_all()
    assert (project.title, project.version) == ("りんご収穫（秋）", 2)
    refused = fill(stale, title="古い題名").submit("save", status=409)
    assert "古い題名" in refused.text


def applicants_of(dbsession, clock, app_settings, session, count):
    service = ApplicationService(dbsession, clock=clock, settings=app_settings)
    people = [make_registrant(dbsession, f"app{i}@example.jp", name=f"申込 {i}")
              for i in range(count)]
    for person in people:
        service.apply(person, session, {"q1": f"回答{person.id}"})
    return people


def test_applicants_page_and_csv_are_audited_reads(testapp, dbsession, site, as_coordinator,
                                                   clock, app_settings):
    project = make_project(dbsession, site, questions=[
        {"key": "q1", "label": "アレルギー", "required": False}])
    session = make_session(dbsession, project, NOW + timedelta(days=3), capacity=1,
                           application_required=True)
    first, second = applicants_of(dbsession, clock, app_settings, session, 2)
    url = f"{BASE}/projects/{project.id}/sessions/{session.id}/applicants"
    page = testapp.get(url)
    assert "申込 0" in page.text and "キャンセル待ち" in page.text and "アレルギー" in page.text
    response = testapp.get(url + ".csv")
    assert response.content_type == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.body.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert table[0] == ["氏名", "メールアドレス", "状態", "申込日時（日本時間）", "アレルギー"]
    assert [row[1] for row in table[1:]] == [first.email, second.email]
    assert table[1][4] == f"回答{first.id}"
    [viewed] = audit(dbsession, "session.applicants_view")
    [exported] = audit(dbsession, "session.applicants_export")
    assert (exported.actor_id, exported.target_id, exported.detail) == (
        as_coordinator.id, str(session.id), {"rows": 2})
    assert viewed.detail == {"rows": 2}


def test_cancelling_a_session_tells_the_applicants(testapp, dbsession, site, as_coordinator,
                                                   clock, app_settings, mail_catcher):
    project = make_project(dbsession, site)
    session = make_session(dbsession, project, NOW + timedelta(days=3), capacity=5,
                           application_required=True)
    [person] = applicants_of(dbsession, clock, app_settings, session, 1)
    mail_catcher.clear()
    url = f"{BASE}/projects/{project.id}/sessions/{session.id}/cancel"
    page = testapp.get(url)
    assert "参加確定の 1 人" in page.text
    edit = form_to(page, "/cancel").submit(status=303).follow()
    assert "1 人にメールでお知らせしました" in edit.text and "中止" in edit.text
    dbsession.expire_all()
    assert session.cancelled_at == NOW
    [mail] = mail_catcher.messages(to=person.email)
    assert mail["subject"] == "【中止】りんご収穫の手伝い"
    assert testapp.post(url, {"csrf_token": csrf_token(testapp)}, status=409)


def test_raising_capacity_moves_people_up(testapp, dbsession, site, as_coordinator, clock,
                                          app_settings, mail_catcher):
    project = make_project(dbsession, site)
    session = make_session(dbsession, project, NOW + timedelta(days=3), capacity=1,
                           application_required=True)
    people = applicants_of(dbsession, clock, app_settings, session, 3)
    mail_catcher.clear()
    url = f"{BASE}/projects/{project.id}/sessions/{session.id}/edit"
    form = testapp.get(url).forms["deform"]
    form["capacity"] = "2"
    page = form.submit("save", status=303).follow()
    assert "キャンセル待ちの 1 人が繰り上がり" in page.text
    message, _mail = only_notice(dbsession, mail_catcher, people[1], site,
                                 "application_result", app_settings)
    assert message.link == f"{BASE}/projects/{project.id}"
    assert mail_catcher.messages(to=people[2].email) == []


def test_site_admin_registers_edits_and_retires_a_partner(testapp, dbsession, site, as_admin):
    page = testapp.get(f"{BASE}/partners/new")
    assert "二地域居住支援法人" in page.text and "① 自治体が事業ごとに対象として指定する" in page.text
    form = fill(page.forms["deform"], name="松代消防団", kind="fire_brigade",
                contact_email="bad address")
    choose(form, "all_unless_excluded")
    page = form.submit("save", status=400)
    assert page.forms["deform"]["name"].value == "松代消防団"
    edit = fill(page.forms["deform"], contact_email="bou@example.jp").submit(
        "save", status=303).follow()
    partner = dbsession.scalar(select(PartnerOrganisation))
    assert (partner.kind, partner.designation_pattern) == ("fire_brigade", "all_unless_excluded")
    fill(edit.forms["deform"], name="松代町消防団").submit("save", status=303)
    listing = testapp.get(f"{BASE}/partners/")
    assert "松代町消防団" in listing.text and "消防団" in listing.text
    duplicate = fill(testapp.get(f"{BASE}/partners/new").forms["deform"], name="松代町消防団",
                     kind="npo")
    assert "同じ名前の関係団体" in duplicate.submit("save", status=409).text
    retire = testapp.get(f"{BASE}/partners/{partner.id}/retire")
    form_to(retire, "/retire").submit(status=303)
    dbsession.expire_all()
    assert partner.retired_at == NOW
    assert "連携終了" in testapp.get(f"{BASE}/partners/").text
    assert [e.action for e in audit(dbsession, "partner.retire")] == ["partner.retire"]
