"""Consultations through the screens: a registrant asks, a coordinator answers; who sees
what; every staff open audited; closed consultations refuse replies; text and files
are shown safely."""
import re

import pytest
from sqlalchemy import select
from webtest import Upload

from furusato_cms.models import AuditEntry, Consultation

from ..community_factories import EXE, PDF, make_consultation
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant
from .test_register import input_name

C = NAGANO_CITY
QUEUE = f"/s/{C}/consultations/"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def person(dbsession):
    return make_registrant(dbsession, "asker@example.jp", name="質問 花子")


@pytest.fixture
def coordinator(dbsession, site):
    return make_staff(dbsession, site, "coordinator", email="coord@example.jp", name="調整 次郎")


@pytest.fixture
def as_person(testapp, dbsession, person, clock, app_settings):
    sign_in(testapp, dbsession, person, clock, app_settings)
    return person


def as_(testapp, dbsession, account, clock, app_settings):
    testapp.reset()
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def reads(dbsession):
    return dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "consultation.read")
                             ).all()


def test_a_registrant_asks_and_a_coordinator_answers(testapp, dbsession, site, person,
                                                     coordinator, clock, app_settings,
                                                     mail_catcher, as_person):
    page = testapp.get(f"/my/consultations/new?site={C}")
    assert "新しい相談" in page.text
    form = page.forms["deform"]
    assert form["site"].value == C
    form[input_name(form, "topic")] = "dual_residence"
    form["subject"] = "二地域居住の住まい"
    form["body"] = "空き家を探しています。<script>alert(1)</script>"
    page = form.submit("send", status=303).follow()
    assert "相談を送りました" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    consultation = dbsession.scalars(select(Consultation)).one()
    assert mail_catcher.messages(to=coordinator.email)

    as_(testapp, dbsession, coordinator, clock, app_settings)
    queue = testapp.get(QUEUE)
    assert "二地域居住の住まい" in queue.text and "新規" in queue.text
    thread = testapp.get(f"{QUEUE}{consultation.id}")
    assert "質問 花子" in thread.text
    mail_catcher.clear()
    form = next(f for f in thread.forms.values() if f.action.endswith("/reply"))
    form["body"] = "ご相談ありがとうございます。https://example.jp/akiya をご覧ください。"
    thread = form.submit("send", status=303).follow()
    assert '<a href="https://example.jp/akiya" rel="nofollow ugc noopener">' in thread.text
    dbsession.expire_all()
    assert (consultation.state, consultation.assigned_to_id) == ("in_progress", coordinator.id)
    assert mail_catcher.messages(to=person.email)

    as_(testapp, dbsession, person, clock, app_settings)
    mine = testapp.get("/my/consultations")
    assert "対応中" in mine.text
    thread = testapp.get(f"/my/consultations/{consultation.id}")
    assert "長野市" in thread.text and "調整 次郎" not in thread.text
    form = next(f for f in thread.forms.values() if f.action.endswith("/reply"))
    form["body"] = "ありがとうございます。"
    form.submit("send", status=303)
    dbsession.expire_all()
    assert len(consultation.messages) == 3


def test_every_staff_open_is_audited_and_other_sites_staff_are_refused(
        testapp, dbsession, site, person, coordinator, clock, app_settings):
    consultation = make_consultation(dbsession, site, person)
    as_(testapp, dbsession, coordinator, clock, app_settings)
    testapp.get(f"{QUEUE}{consultation.id}")
    testapp.get(f"{QUEUE}{consultation.id}")
    assert len(reads(dbsession)) == 2
    other_admin = make_staff(dbsession, make_site(dbsession, MATSUMOTO), "site_admin",
                             email="matsumoto-admin@example.jp")
    as_(testapp, dbsession, other_admin, clock, app_settings)
    testapp.get(QUEUE, status=403)
    testapp.get(f"{QUEUE}{consultation.id}", status=403)
    testapp.get(f"/s/{MATSUMOTO}/consultations/{consultation.id}", status=404)
    editor = make_staff(dbsession, site, "editor", email="editor@example.jp")
    as_(testapp, dbsession, editor, clock, app_settings)
    testapp.get(QUEUE, status=403)
    assert len(reads(dbsession)) == 2


def test_registrants_see_only_their_own(testapp, dbsession, site, person, as_person):
    someone = make_registrant(dbsession, "someone@example.jp")
    theirs = make_consultation(dbsession, site, someone, subject="他人の相談")
    mine = make_consultation(dbsession, site, person, subject="自分の相談")
    listing = testapp.get("/my/consultations")
    assert "自分の相談" in listing.text and "他人の相談" not in listing.text
    testapp.get(f"/my/consultations/{theirs.id}", status=404)
    testapp.get(f"/my/consultations/{mine.id}", status=200)
    testapp.get(QUEUE, status=403)
    testapp.get("/my/consultations/99999999999", status=404)


def test_a_closed_consultation_refuses_replies(testapp, dbsession, site, person, as_person):
    consultation = make_consultation(dbsession, site, person)
    thread = testapp.get(f"/my/consultations/{consultation.id}")
    reply = next(f for f in thread.forms.values() if f.action.endswith("/reply"))
    close = next(f for f in thread.forms.values() if f.action.endswith("/close"))
    close.submit(status=303)
    page = testapp.get(f"/my/consultations/{consultation.id}")
    assert "この相談は終了しています" in page.text
    reply["body"] = "まだあります"
    page = reply.submit("send", status=403)
    assert "新しい相談を" in page.text
    dbsession.expire_all()
    assert len(consultation.messages) == 1


def test_empty_oversized_and_bad_files_are_refused_on_their_fields(testapp, dbsession, site,
                                                                  person, as_person):
    consultation = make_consultation(dbsession, site, person)
    thread = testapp.get(f"/my/consultations/{consultation.id}")
    form = next(f for f in thread.forms.values() if f.action.endswith("/reply"))
    form["body"] = "   "
    assert "メッセージを入力してください" in form.submit("send", status=400).text
    form["body"] = "あ" * 4001
    assert "4000文字まで" in form.submit("send", status=400).text
    form["body"] = "請求書です"
    form["upload"] = Upload("invoice.pdf", EXE)
    assert "PDF、JPEG、PNG" in form.submit("send", status=400).text
    dbsession.expire_all()
    assert len(consultation.messages) == 1


def test_attachments_download_for_the_two_sides_only(testapp, dbsession, site, person,
                                                     coordinator, clock, app_settings,
                                                     as_person):
    consultation = make_consultation(dbsession, site, person)
    thread = testapp.get(f"/my/consultations/{consultation.id}")
    form = next(f for f in thread.forms.values() if f.action.endswith("/reply"))
    form["body"] = "見積書を添付します"
    form["upload"] = Upload("見積書.pdf", PDF)
    thread = form.submit("send", status=303).follow()
    link = re.search(r'href="http://localhost(/my/consultations/\d+/attachments/\d+)"',
                     thread.text).group(1)
    response = testapp.get(link)
    assert response.body == PDF and response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    attachment_id = link.rsplit("/", 1)[1]
    as_(testapp, dbsession, coordinator, clock, app_settings)
    staff_link = f"{QUEUE}{consultation.id}/attachments/{attachment_id}"
    assert testapp.get(staff_link).body == PDF
    assert dbsession.scalar(select(AuditEntry).where(
        AuditEntry.action == "consultation.attachment_read")) is not None
    someone = make_registrant(dbsession, "nosy@example.jp")
    as_(testapp, dbsession, someone, clock, app_settings)
    testapp.get(link, status=404)


def test_coordinators_assign_and_close(testapp, dbsession, site, person, coordinator, clock,
                                       app_settings):
    other = make_staff(dbsession, site, "coordinator", email="coord2@example.jp", name="別 三郎")
    consultation = make_consultation(dbsession, site, person)
    as_(testapp, dbsession, coordinator, clock, app_settings)
    thread = testapp.get(f"{QUEUE}{consultation.id}")
    assign = next(f for f in thread.forms.values() if f.action.endswith("/assign"))
    assign["assignee"] = str(other.id)
    assign.submit("assign", status=303)
    dbsession.expire_all()
    assert consultation.assigned_to_id == other.id
    mine = testapp.get(QUEUE + "?view=mine")
    assert consultation.subject not in mine.text
    thread = testapp.get(f"{QUEUE}{consultation.id}")
    close = next(f for f in thread.forms.values() if f.action.endswith("/close"))
    close.submit(status=303)
    dbsession.expire_all()
    assert consultation.state == "closed"
    assert "終了" in testapp.get(QUEUE + "?view=closed").text
