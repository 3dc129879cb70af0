"""Premium registration through the browser: progress and applying on /my/premium
(automatic approval, review, rejection with the reason shown), the coordinators' queue
with the evidence, stay codes and declarations."""
import re

import pytest
from sqlalchemy import select
from webtest import Upload

from furusato_cms.models import (
    Attendance,
    AuditEntry,
    PremiumApplication,
    StayDeclaration,
    StayRecord,
)

from ..conftest import NOW
from ..factories import NAGANO_CITY, make_staff, sign_in
from ..notice_factories import only_notice
from ..premium_factories import eligible_person, make_person, register, site_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def as_person(testapp, dbsession, clock, app_settings, person):
    sign_in(testapp, dbsession, person, clock, app_settings)
    return person


def as_staff(testapp, dbsession, clock, app_settings, site, role="coordinator"):
    staff = make_staff(dbsession, site, role)
    sign_in(testapp, dbsession, staff, clock, app_settings)
    return staff


def apply_form(page, registration):
    return next(f for f in page.forms.values()
                if f.action.endswith("/my/premium/apply")
                and f["registration"].value == str(registration.id))


def test_progress_and_automatic_approval(testapp, dbsession, clock, app_settings, catcher):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=True)
    person, registration = eligible_person(dbsession, site, at=NOW)
    as_person(testapp, dbsession, clock, app_settings, person)

    page = testapp.get("/my/premium")
    assert "過去12か月の指定された担い手活動 3件 / 3件" in page.text
    done = apply_form(page, registration).submit(status=303).follow()

    assert "長野市のプレミアム登録が完了しました" in done.text
    assert "有効期限" in done.text
    dbsession.expire_all()
    assert registration.tier == "premium"
    message, _mail = only_notice(dbsession, catcher, person, site, "premium_decision",
                                 app_settings)
    assert message.subject == "長野市のプレミアム登録が承認されました"
    assert message.subject in testapp.get("/my/inbox").text


def test_not_enough_activities_shows_progress_without_an_apply_button(testapp, dbsession, clock,
                                                                      app_settings):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=True)
    person, registration = eligible_person(dbsession, site, at=NOW, count=2)
    as_person(testapp, dbsession, clock, app_settings, person)

    page = testapp.get("/my/premium")

    assert "過去12か月の指定された担い手活動 2件 / 3件" in page.text
    assert not [f for f in page.forms.values() if f.action.endswith("/my/premium/apply")]
    csrf = page.html.select_one("input[name=csrf_token]")["value"]
    refused = testapp.post("/my/premium/apply", {"csrf_token": csrf,
                                                 "registration": str(registration.id)},
                           status=403)
    assert "プレミアム登録はまだできません" in refused.text
    assert "2件" in refused.text


def test_another_persons_registration_is_not_found(testapp, dbsession, clock, app_settings):
    site = site_of(dbsession, NAGANO_CITY)
    _other, registration = eligible_person(dbsession, site, at=NOW)
    as_person(testapp, dbsession, clock, app_settings, make_person(dbsession, "me@example.jp"))
    csrf = testapp.get("/my/premium").html.select_one("input[name=csrf_token]")["value"]
    testapp.post("/my/premium/apply", {"csrf_token": csrf, "registration": str(registration.id)},
                 status=404)
    testapp.post("/my/premium/apply", {"csrf_token": csrf, "registration": "9" * 20}, status=404)


def test_review_then_approval(testapp, dbsession, clock, app_settings, catcher):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=False)
    person, registration = eligible_person(dbsession, site, at=NOW)
    as_person(testapp, dbsession, clock, app_settings, person)
    page = apply_form(testapp.get("/my/premium"), registration).submit(status=303).follow()
    assert "コーディネーターが審査します" in page.text
    assert "審査待ち" in page.text

    testapp.reset()
    as_staff(testapp, dbsession, clock, app_settings, site)
    queue = testapp.get(f"/s/{site.code}/premium/")
    assert person.display_name in queue.text and "マイナンバーカード" in queue.text
    detail = queue.click(href=r"/premium/applications/\d+$", index=0)
    assert "活動3" in detail.text
    approved = next(f for f in detail.forms.values() if f.action.endswith("/approve")).submit(
        status=303).follow()

    assert "承認しました" in approved.text
    dbsession.expire_all()
    assert registration.tier == "premium"
    assert dbsession.scalar(select(PremiumApplication.state)) == "approved"
    message, _mail = only_notice(dbsession, catcher, person, site, "premium_decision",
                                 app_settings)
    assert message.subject == "長野市のプレミアム登録が承認されました"


def test_rejection_with_a_reason_the_applicant_sees(testapp, dbsession, clock, app_settings,
                                                    catcher):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=False)
    person, registration = eligible_person(dbsession, site, at=NOW)
    as_person(testapp, dbsession, clock, app_settings, person)
    apply_form(testapp.get("/my/premium"), registration).submit(status=303)

    testapp.reset()
    as_staff(testapp, dbsession, clock, app_settings, site)
    detail = testapp.get(f"/s/{site.code}/premium/").click(href=r"/applications/\d+$", index=0)
    form = next(f for f in detail.forms.values() if f.action.endswith("/reject"))
    empty = form.submit("reject", status=400)
    assert "入力してください" in empty.text or "必須" in empty.text
    form = next(f for f in empty.forms.values() if f.action.endswith("/reject"))
    form["reason"] = "記録された活動が指定活動ではありませんでした。"
    form.submit("reject", status=303)

    testapp.reset()
    as_person(testapp, dbsession, clock, app_settings, person)
    page = testapp.get("/my/premium")
    assert "承認されませんでした" in page.text
    assert "記録された活動が指定活動ではありませんでした。" in page.text
    message, mail = only_notice(dbsession, catcher, person, site, "premium_decision",
                                app_settings)
    assert "記録された活動が指定活動ではありませんでした。" in message.body
    assert "記録された活動が指定活動ではありませんでした。" in mail["text"]


def test_approval_refused_when_the_person_no_longer_qualifies(testapp, dbsession, clock,
                                                              app_settings):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=False)
    person, registration = eligible_person(dbsession, site, at=NOW)
    as_person(testapp, dbsession, clock, app_settings, person)
    apply_form(testapp.get("/my/premium"), registration).submit(status=303)
    testapp.reset()
    as_staff(testapp, dbsession, clock, app_settings, site)
    detail = testapp.get(f"/s/{site.code}/premium/").click(href=r"/applications/\d+$", index=0)
    dbsession.scalars(select(Attendance)).first().voided_at = NOW
    dbsession.flush()

    page = next(f for f in detail.forms.values() if f.action.endswith("/approve")).submit(
        status=403)

    assert "長野市へのプレミアム登録はまだできません" in page.text
    assert "2件です。3件必要です" in page.text
    dbsession.expire_all()
    assert registration.tier == "basic"


@pytest.mark.parametrize("role, status", [("editor", 403), ("partner", 403), (None, 403)])
def test_only_coordinators_and_site_admins_review(testapp, dbsession, clock, app_settings,
                                                  role, status):
    site = site_of(dbsession, NAGANO_CITY)
    if role:
        as_staff(testapp, dbsession, clock, app_settings, site, role)
    else:
        as_person(testapp, dbsession, clock, app_settings, make_person(dbsession))
    testapp.get(f"/s/{site.code}/premium/", status=status)
    testapp.get(f"/s/{site.code}/premium/stay-points/", status=status)


def test_site_admins_review_too(testapp, dbsession, clock, app_settings):
    site = site_of(dbsession, NAGANO_CITY)
    as_staff(testapp, dbsession, clock, app_settings, site, "site_admin")
    assert "プレミアム登録の審査" in testapp.get(f"/s/{site.code}/premium/").text


# -- stays ----------------------------------------------------------------------------------

def test_stay_point_code_scanned_once_a_day(testapp, dbsession, clock, app_settings):
    site = site_of(dbsession, NAGANO_CITY, long_stay_enabled=True)
    as_staff(testapp, dbsession, clock, app_settings, site)
    points = testapp.get(f"/s/{site.code}/premium/stay-points/")
    form = points.forms["deform"]
    form["name"] = "ゲストハウスりんご"
    points = form.submit("save", status=303).follow()
    assert "ゲストハウスりんご" in points.text
    point_page = points.click("ゲストハウスりんご")
    stay_url = re.search(r"http://localhost(/stay/[^<\s]+)", point_page.text).group(1)
    assert testapp.get(point_page.request.path + "/qr.svg").content_type == "image/svg+xml"

    testapp.reset()
    person = as_person(testapp, dbsession, clock, app_settings, make_person(dbsession))
    page = testapp.get(stay_url)
    assert "ゲストハウスりんご" in page.text
    done = next(f for f in page.forms.values() if f.action.endswith(stay_url)).submit(status=200)
    assert "滞在を記録しました" in done.text
    again = testapp.post(stay_url, {"csrf_token": page.html.select_one(
        "input[name=csrf_token]")["value"]}, status=200)
    assert "すでに記録されています" in again.text
    assert dbsession.scalars(select(StayRecord.account_id)).all() == [person.id]
    testapp.get(stay_url[:-2] + "xx", status=400)


def test_declaration_confirmed_by_a_coordinator(testapp, dbsession, clock, app_settings):
    site = site_of(dbsession, NAGANO_CITY)
    person = as_person(testapp, dbsession, clock, app_settings, make_person(dbsession))
    register(dbsession, person, site)
    form = testapp.get("/my/premium/stays").forms["deform"]
    form["site"] = NAGANO_CITY
    form["first_day"], form["last_day"] = "2026-11-01", "2026-11-03"
    form.set("upload", Upload("receipt.png", b"not an image", "image/png"), index=0)
    refused = form.submit("declare", status=400)
    assert "PDF、JPEG、PNG" in refused.text

    form = refused.forms["deform"]
    form.set("upload", Upload("receipt.pdf", PDF, "application/pdf"), index=0)
    form.submit("declare", status=303)

    testapp.reset()
    as_staff(testapp, dbsession, clock, app_settings, site)
    queue = testapp.get(f"/s/{site.code}/premium/")
    detail = queue.click(href=r"/declarations/\d+$")
    assert "3日" in detail.text
    document = detail.click("receipt.pdf")
    assert document.body == PDF and "attachment" in document.headers["Content-Disposition"]
    assert dbsession.scalar(select(AuditEntry.action).where(
        AuditEntry.action == "stay.document_view")) is not None
    next(f for f in detail.forms.values() if f.action.endswith("/confirm")).submit(status=303)

    dbsession.expire_all()
    assert dbsession.scalar(select(StayDeclaration.state)) == "confirmed"
    assert len(dbsession.scalars(select(StayRecord)).all()) == 3


def test_declaring_needs_a_registration(testapp, dbsession, clock, app_settings):
    as_person(testapp, dbsession, clock, app_settings, make_person(dbsession))
    site_of(dbsession, NAGANO_CITY)
    page = testapp.get("/my/premium/stays")
    assert not page.html.select("select option[value='%s']" % NAGANO_CITY)
