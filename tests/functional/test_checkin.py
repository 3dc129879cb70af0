"""Check-in through the browser: the poster's URL, sign-in and back, one tap, second
scans and refusals as friendly pages; the person's history and card code."""
import re

import pytest
from sqlalchemy import select

from furusato_cms.models import Attendance
from furusato_cms.services.attendance import AttendanceService
from furusato_cms.services.checkin_tokens import TokenRefused, rotate

from ..attendance_factories import HOUR, make_checkin_world, make_registered
from ..conftest import NOW
from ..dbsetup import is_postgresql
from ..factories import PASSWORD, make_staff, sign_in
from ..registrant_factories import make_registrant
from ..statements import statements_during


@pytest.fixture
def world(dbsession):
    return make_checkin_world(dbsession, NOW, place="中央公民館")


@pytest.fixture
def person(dbsession, world):
    return make_registered(dbsession, world.site, "person@example.jp", name="住民 太郎")


@pytest.fixture
def service(dbsession, clock, app_settings):
    return AttendanceService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def path(service, world):
    return "/checkin/" + service.tokens.token_for(world.session)


@pytest.fixture
def signed_in(testapp, dbsession, clock, app_settings, person):
    sign_in(testapp, dbsession, person, clock, app_settings)
    return person


def attendance_rows(dbsession, world):
    dbsession.expire_all()
    return dbsession.scalars(
        select(Attendance).where(Attendance.session_id == world.session.id)
    ).all()


def test_anonymous_visitor_signs_in_and_comes_back_to_the_same_check_in(
        testapp, dbsession, world, person, path):
    page = testapp.get(path)
    assert "りんご収穫の手伝い" in page.text and "中央公民館" in page.text
    assert "2026年11月25日(水) 12:00 – 15:00" in page.text
    link = page.html.select_one("a.button-large")
    assert link.text.strip() == "ログインして出席を記録する"
    assert link["href"] == "http://localhost/signin?came_from=%2Fcheckin%2F" + path[9:]

    form = testapp.get(link["href"]).forms["deform"]
    form["email"], form["password"] = "person@example.jp", PASSWORD
    back = form.submit("signin", status=303)
    assert back.location == "http://localhost" + path

    page = back.follow()
    button = page.html.select_one("form button.button-large")
    assert button.text.strip() == "出席を記録する"
    done = next(f for f in page.forms.values() if f.action.endswith(path)).submit(status=200)
    assert "出席を記録しました" in done.text
    assert [(row.account_id, row.source) for row in attendance_rows(dbsession, world)] == [
        (person.id, "qr")]


def test_a_second_scan_says_already_recorded(testapp, dbsession, world, signed_in, path):
    form = next(f for f in testapp.get(path).forms.values() if f.action.endswith(path))
    form.submit(status=200)
    again = testapp.get(path)
    assert "この回の出席はすでに記録されています" in again.text
    assert not again.html.select("button.button-large")
    csrf = again.html.select_one("input[name=csrf_token]")["value"]
    second = testapp.post(path, {"csrf_token": csrf}, status=200)
    assert "記録済みです" in second.text
    assert len(attendance_rows(dbsession, world)) == 1


def test_the_page_and_the_tap_run_few_statements(testapp, dbsession, world, signed_in, path):
    """Festival bursts are bounded by these: the visitor (session, account, staff
    memberships and the header's unread count in one) with the code's scan in the same
    statement on PostgreSQL (apart on SQLite), and the insert that returns its row with
    the webhook outbox's INSERT … SELECT (a statement of its own on SQLite) — the page
    itself has no insert."""
    pages = []
    page_statements = statements_during(dbsession.connection(),
                                        lambda: pages.append(testapp.get(path)))
    csrf = pages[0].html.select_one("input[name=csrf_token]")["value"]
    tap_statements = statements_during(
        dbsession.connection(), lambda: testapp.post(path, {"csrf_token": csrf}, status=200))
    assert (len(page_statements), len(tap_statements)) == ((1, 2) if is_postgresql() else (2, 4))
    assert len(attendance_rows(dbsession, world)) == 1


def test_a_tap_read_with_a_disabled_account_records_nothing(testapp, dbsession, world,
                                                           person, signed_in, path):
    """The scan is read with the session's lookup, before the session is judged: an
    account disabled since signing in is sent to sign in, and nothing is recorded."""
    csrf = testapp.get(path).html.select_one("input[name=csrf_token]")["value"]
    person.disabled_at = NOW
    dbsession.flush()
    response = testapp.post(path, {"csrf_token": csrf}, status=303)
    assert "/signin?came_from=" in response.location
    assert attendance_rows(dbsession, world) == []


def test_an_altered_code_reads_nothing_ahead_and_is_refused(testapp, world, signed_in,
                                                           path):
    csrf = testapp.get(path).html.select_one("input[name=csrf_token]")["value"]
    altered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    refused = testapp.post(altered, {"csrf_token": csrf}, status=400)
    assert world.project.title not in refused.text


def test_anonymous_post_is_sent_to_sign_in(testapp, world, path):
    csrf = testapp.get("/signin").html.select_one("input[name=csrf_token]")["value"]
    response = testapp.post(path, {"csrf_token": csrf}, status=303)
    assert response.location.startswith("http://localhost/signin?came_from=%2Fcheckin%2F")


def post_check_in(testapp, path, status):
    csrf = testapp.get("/my/activities").html.select_one("input[name=csrf_token]")["value"]
    return testapp.post(path, {"csrf_token": csrf}, status=status)


def test_outside_the_window_the_page_says_when(testapp, dbsession, world, signed_in, path,
                                               clock, app_settings):
    clock.advance(-2 * HOUR)
    page = testapp.get(path)
    assert "受付は2026/11/25 11:00に始まります" in page.text
    assert not page.html.select("button.button-large")
    refused = post_check_in(testapp, path, 403)
    assert "受付は2026/11/25 11:00に始まります" in refused.text
    clock.advance(10 * HOUR)
    sign_in(testapp, dbsession, signed_in, clock, app_settings)
    refused = post_check_in(testapp, path, 403)
    assert "この回の受付は2026/11/25 17:00に終了しました" in refused.text
    assert attendance_rows(dbsession, world) == []


def test_altered_and_replaced_codes_get_clear_pages(testapp, dbsession, world, signed_in, path):
    altered = testapp.get(path[:-3] + "abc", status=400)
    assert "この受付コードは無効です" in altered.text
    rotate(world.session)
    dbsession.flush()
    replaced = testapp.get(path, status=400)
    assert "新しいコードに切り替わっています" in replaced.text
    assert "新しいコードに切り替わっています" in post_check_in(testapp, path, 400).text
    testapp.get("/checkin/", status=404)
    testapp.get(path + "/more", status=404)


def test_a_hidden_project_shows_nothing_about_it(testapp, dbsession, world, signed_in, path):
    world.project.state = "draft"
    dbsession.flush()
    page = testapp.get(path, status=404)
    assert "この活動は公開されていません" in page.text and "りんご" not in page.text
    assert "りんご" not in post_check_in(testapp, path, 404).text


def test_staff_accounts_are_told_to_use_the_staff_page(testapp, dbsession, world, path, clock,
                                                       app_settings):
    sign_in(testapp, dbsession, make_staff(dbsession, world.site, "coordinator"), clock,
            app_settings)
    assert "受付は登録者のアカウントでのみできます" in testapp.get(path).text
    csrf = testapp.get(path).html.select_one("input[name=csrf_token]")["value"]
    refused = testapp.post(path, {"csrf_token": csrf}, status=403)
    assert "受付は登録者のアカウントでのみできます" in refused.text


def test_people_not_registered_are_recorded_and_invited_to_register(
        testapp, dbsession, world, path, clock, app_settings):
    visitor = make_registrant(dbsession, "visitor@example.jp")
    sign_in(testapp, dbsession, visitor, clock, app_settings)
    done = post_check_in(testapp, path, 200)
    assert "出席を記録しました" in done.text and "まだ長野市に登録していません" in done.text
    assert done.html.select_one(f'a[href$="/s/{world.site.code}/register"]')


def test_history_shows_the_activity_per_site_and_fiscal_year(testapp, world, signed_in, path):
    assert "まだ活動の記録はありません" in testapp.get("/my/activities").text
    post_check_in(testapp, path, 200)
    page = testapp.get("/my/activities")
    heading = page.html.select_one("main h2").text
    assert "長野市" in heading and "2026年度" in heading
    assert "りんご収穫の手伝い" in page.text and "QRコードで受付" in page.text


def test_card_code_page_shows_a_code_with_its_expiry_and_never_reloads(
        testapp, dbsession, world, signed_in, service, clock):
    page = testapp.get("/my/card-code")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.html.select_one('meta[http-equiv="refresh"]') is None
    assert page.html.select_one("main img")["src"].startswith("data:image/svg+xml")
    shown = page.html.select_one(".card-code-digits").text
    assert re.fullmatch(r"\d{4}-\d{4}-\d{4}", shown)
    assert "2026年11月25日(水) 12:10まで有効（日本時間）" in page.text
    assert testapp.get("/my/card-code").html.select_one(".card-code-digits").text == shown
    assert service.account_from_card_code(shown) == signed_in
    form = next(f for f in page.forms.values() if f.action.endswith("/my/card-code"))
    renewed = form.submit(status=303).follow()
    fresh = renewed.html.select_one(".card-code-digits").text
    assert fresh != shown and service.account_from_card_code(fresh) == signed_in
    with pytest.raises(TokenRefused):
        service.account_from_card_code(shown)


def test_a_new_card_code_needs_the_csrf_token(testapp, dbsession, world, signed_in):
    testapp.post("/my/card-code", status=400)


def test_my_pages_need_a_registrant(testapp, dbsession, world, clock, app_settings):
    assert "/signin" in testapp.get("/my/activities", status=302).location
    sign_in(testapp, dbsession, make_staff(dbsession, world.site, "coordinator"), clock,
            app_settings)
    testapp.get("/my/activities", status=403)
    testapp.get("/my/card-code", status=403)
