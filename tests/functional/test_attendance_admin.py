"""Staff screens of a session's attendance: who may open them, the code files and poster,
recording by hand and by card code, voiding, rotating and the CSV export."""
import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import Attendance, AuditEntry
from furusato_cms.services.attendance import AttendanceService
from furusato_cms.services.card_codes import grouped

from ..activity_factories import make_attendance, make_partner
from ..attendance_factories import make_checkin_world, make_partner_staff, make_registered
from ..conftest import NOW
from ..factories import MATSUMOTO, make_account, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant

ROLES = ("anonymous", "registrant", "operator", "site_admin", "editor", "coordinator",
         "partner_own", "partner_other", "other_site_admin")
RECORDERS = {"site_admin", "coordinator", "partner_own"}
PAGES = ("qr.svg", "qr.png", "poster.pdf", "attendance", "attendance.csv", "void?attendance={a}")


@pytest.fixture
def world(dbsession):
    site = make_site(dbsession)
    partner = make_partner(dbsession, site)
    return make_checkin_world(dbsession, NOW, partner=partner, place="中央公民館")


@pytest.fixture
def base(world):
    return f"/s/{world.site.code}/projects/{world.project.id}/sessions/{world.session.id}/"


@pytest.fixture
def service(dbsession, clock, app_settings):
    return AttendanceService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def accounts(dbsession, world):
    site = world.site
    other_partner = make_partner(dbsession, site, "消防団第一分団", kind="fire_brigade")
    return {
        "registrant": make_registered(dbsession, site, "person@example.jp"),
        "operator": make_account(dbsession, "operator@example.jp", is_operator=True),
        "site_admin": make_staff(dbsession, site, "site_admin"),
        "editor": make_staff(dbsession, site, "editor"),
        "coordinator": make_staff(dbsession, site, "coordinator"),
        "partner_own": make_partner_staff(dbsession, site, world.project.partner,
                                          "own@example.jp"),
        "partner_other": make_partner_staff(dbsession, site, other_partner, "other@example.jp"),
        "other_site_admin": make_staff(dbsession, make_site(dbsession, MATSUMOTO), "site_admin"),
    }


def as_role(testapp, dbsession, clock, app_settings, accounts, role):
    if role != "anonymous":
        sign_in(testapp, dbsession, accounts[role], clock, app_settings)


def outcome(response):
    if response.status_int in (403, 404) or (
            response.status_int in (302, 303) and "/signin" in response.location):
        return "denied"
    assert response.status_int == 200, response.status
    return "allowed"


@pytest.mark.parametrize("role", ROLES)
def test_only_the_sites_recorders_and_the_projects_partner_open_the_screens(
        testapp, dbsession, clock, app_settings, world, base, accounts, role):
    attendance = make_attendance(dbsession, world.session, accounts["registrant"])
    as_role(testapp, dbsession, clock, app_settings, accounts, role)
    expected = "allowed" if role in RECORDERS else "denied"
    wrong = [page for page in PAGES
             if outcome(testapp.get(base + page.format(a=attendance.id), expect_errors=True))
             != expected]
    assert wrong == []


@pytest.mark.parametrize("role", ("registrant", "editor", "partner_other", "other_site_admin"))
def test_others_cannot_rotate_or_record(testapp, dbsession, clock, app_settings, world, base,
                                        accounts, role):
    as_role(testapp, dbsession, clock, app_settings, accounts, role)
    csrf = testapp.get("/account").html.select_one("input[name=csrf_token]")["value"]
    testapp.post(base + "rotate", {"csrf_token": csrf}, status=403)
    testapp.post(base + "attendance", {"csrf_token": csrf,
                                       "account_id": accounts["registrant"].id}, status=403)
    dbsession.expire_all()
    assert world.session.token_version == 1
    assert dbsession.scalars(select(Attendance)).all() == []


def test_partner_staff_cannot_reach_a_project_without_their_partner(
        testapp, dbsession, clock, app_settings, world, accounts):
    site_project = make_checkin_world(dbsession, NOW, title="市の直営活動")
    as_role(testapp, dbsession, clock, app_settings, accounts, "partner_own")
    path = (f"/s/{world.site.code}/projects/{site_project.project.id}/sessions/"
            f"{site_project.session.id}/attendance")
    testapp.get(path, status=403)


@pytest.fixture
def coordinator(testapp, dbsession, clock, app_settings, accounts):
    as_role(testapp, dbsession, clock, app_settings, accounts, "coordinator")
    return accounts["coordinator"]


def test_code_files_and_poster(testapp, coordinator, base, service, world):
    url = service.checkin_url(world.session)
    svg = testapp.get(base + "qr.svg")
    assert svg.content_type == "image/svg+xml" and url.encode() in svg.body
    png = testapp.get(base + "qr.png")
    assert png.content_type == "image/png" and png.body.startswith(b"\x89PNG")
    pdf = testapp.get(base + "poster.pdf")
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == (
        f'attachment; filename="poster-{world.session.id}.pdf"')
    assert pdf.headers["Cache-Control"] == "no-store"


def test_the_page_shows_the_code_and_the_window(testapp, coordinator, base, service, world):
    page = testapp.get(base + "attendance")
    assert "出席管理" in page.text and "りんご収穫の手伝い" in page.text
    assert service.checkin_url(world.session) in page.text
    assert "2026年11月25日(水) 11:00 – 2026年11月25日(水) 17:00" in page.text
    assert page.html.select_one('img[src$="qr.svg"]')["alt"]


def test_rotating_stops_the_old_code(testapp, dbsession, coordinator, base, service, world):
    old = service.checkin_url(world.session)
    form = next(f for f in testapp.get(base + "attendance").forms.values()
                if f.action.endswith("rotate"))
    page = form.submit(status=303).follow()
    assert "新しい受付コードを発行しました" in page.text
    dbsession.expire_all()
    assert world.session.token_version == 2
    assert old not in page.text and service.checkin_url(world.session) in page.text
    assert "新しいコードに切り替わっています" in testapp.get(old[16:], status=400).text
    assert "attendance.rotate_code" in [e.action for e in dbsession.scalars(select(AuditEntry))]


def test_search_and_record_by_hand(testapp, dbsession, coordinator, base, world):
    hanako = make_registered(dbsession, world.site, "hanako@example.jp", name="山田 花子")
    make_registrant(dbsession, "outsider@example.jp", name="山田 外子")
    page = testapp.get(base + "attendance", {"q": "山田"})
    cards = page.html.select("ul.cards li.card")
    assert [card.h3.text for card in cards] == ["山田 花子"]
    form = next(f for f in page.forms.values() if "account_id" in f.fields)
    page = form.submit(status=303).follow()
    assert "山田 花子さんの出席を記録しました" in page.text
    assert page.html.select_one("ul.cards .status").text == "記録済み"
    dbsession.expire_all()
    [row] = dbsession.scalars(select(Attendance)).all()
    assert (row.account_id, row.source, row.recorded_by_id) == (hanako.id, "staff",
                                                                coordinator.id)
    assert "参加者 1人" in page.text


def test_recording_a_stranger_by_id_is_refused(testapp, dbsession, coordinator, base):
    outsider = make_registrant(dbsession, "outsider@example.jp")
    csrf = testapp.get(base + "attendance").html.select_one("input[name=csrf_token]")["value"]
    page = testapp.post(base + "attendance", {"csrf_token": csrf, "account_id": outsider.id},
                        status=400)
    assert "この方はこの自治体に登録していません" in page.text
    for bad in ("x", "0", "99999999999"):
        testapp.post(base + "attendance", {"csrf_token": csrf, "account_id": bad}, status=400)
    assert dbsession.scalars(select(Attendance)).all() == []


def card_form(testapp, base):
    return testapp.get(base + "attendance").forms["deform"]


def test_record_by_card_code(testapp, dbsession, coordinator, base, service, world):
    visitor = make_registrant(dbsession, "visitor@example.jp", name="来訪 一郎")
    code = grouped(service.card_code_for(visitor).code)
    form = card_form(testapp, base)
    form["card_token"] = f"  {code}\n"
    page = form.submit("card", status=303).follow()
    assert "来訪 一郎さんの出席を記録しました" in page.text
    assert "来訪 一郎さんはまだこの自治体に登録していません" in page.text
    dbsession.expire_all()
    assert [row.source for row in dbsession.scalars(select(Attendance))] == ["card"]


def test_bad_card_codes_rerender_with_a_message(testapp, dbsession, coordinator, base, service,
                                                clock, accounts):
    form = card_form(testapp, base)
    form["card_token"] = ""
    form.submit("card", status=400)
    form = card_form(testapp, base)
    form["card_token"] = "12.34.nonsense"
    assert "12桁の数字" in form.submit("card", status=400).text
    code = service.card_code_for(accounts["registrant"]).code
    typo = code[:7] + str((int(code[7]) + 3) % 10) + code[8:]
    form = card_form(testapp, base)
    form["card_token"] = grouped(typo)
    page = form.submit("card", status=400)
    assert "入力まちがい" in page.text and "チェック数字" in page.text
    clock.advance(timedelta(minutes=10))
    form = card_form(testapp, base)
    form["card_token"] = code
    assert "有効期限が切れています" in form.submit("card", status=400).text
    assert dbsession.scalars(select(Attendance)).all() == []


def test_void_with_a_reason_keeps_the_row(testapp, dbsession, coordinator, base, world,
                                          accounts):
    attendance = make_attendance(dbsession, world.session, accounts["registrant"])
    page = testapp.get(base + "attendance")
    page = page.click(href=f"void\\?attendance={attendance.id}")
    form = page.forms["deform"]
    page = form.submit("void", status=400)
    assert page.forms["deform"]
    form = page.forms["deform"]
    form["reason"] = "別の方と取り違えました"
    listing = form.submit("void", status=303).follow()
    assert "記録を取り消しました" in listing.text
    assert "別の方と取り違えました" in listing.text and "参加者 0人" in listing.text
    dbsession.expire_all()
    [row] = dbsession.scalars(select(Attendance)).all()
    assert row.void_reason == "別の方と取り違えました" and row.voided_by_id == coordinator.id
    again = testapp.get(base + f"void?attendance={attendance.id}")
    assert "この記録は" in again.text and "deform" not in again.forms


def test_void_of_another_sessions_record_is_not_found(testapp, dbsession, coordinator, base,
                                                      accounts):
    elsewhere = make_checkin_world(dbsession, NOW, title="別の活動")
    other = make_attendance(dbsession, elsewhere.session, accounts["registrant"])
    testapp.get(base + f"void?attendance={other.id}", status=404)
    testapp.get(base + "void?attendance=abc", status=404)
    testapp.get(base + "void?attendance=99999999999", status=404)
    testapp.get(base + "void", status=404)


def test_csv_export_is_a_download_and_audited(testapp, dbsession, coordinator, base, world,
                                              accounts):
    make_attendance(dbsession, world.session, accounts["registrant"], source="qr")
    response = testapp.get(base + "attendance.csv")
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="attendance-{world.session.id}-20261125.csv"')
    assert response.body.startswith(b"\xef\xbb\xbf")
    header, row = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert header[:2] == ["参加者", "メールアドレス"]
    assert row[:2] == ["住民 太郎", "person@example.jp"] and row[4] == "QRコードで受付"
    dbsession.expire_all()
    entry = dbsession.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.export"))
    assert entry.actor_id == coordinator.id and entry.site_id == world.site.id
