"""An import municipalities can finish: the checked file is kept, its valid rows can be
imported, and the refused rows come back as a copy of the template to fix and import."""
import csv
import io
import re
from datetime import date, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select
from webtest import Upload

from furusato_cms.models import (
    Attendance,
    AttendanceImport,
    AuditEntry,
    ImportUpload,
    PendingAttendanceClaim,
)

from ..content_factories import signed_in_staff
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, sign_in, make_staff
from ..fixtures_import import (
    csv_bytes,
    in_the_past,
    make_verified,
    sample_rows,
    table_counts,
    xlsx_bytes,
)

BASE = f"/s/{NAGANO_CITY}/imports/"
FUTURE_ROWS = {14, 15, 16, 17}
"""The national sample's rows dated after the tests' NOW (EVT-004 and EVT-005)."""


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def as_coordinator(testapp, dbsession, site, clock, app_settings):
    make_verified(dbsession, "佐藤 健一", date(1974, 2, 18), "1247834")
    return signed_in_staff(testapp, dbsession, site, clock, app_settings, "coordinator")


def check(testapp, filename, data, status=400):
    form = testapp.get(BASE).forms["deform"]
    form["upload"] = Upload(filename, data)
    return form.submit("check", status=status)


def kept(dbsession):
    return dbsession.scalar(select(ImportUpload).order_by(ImportUpload.id.desc()))


def recorded(dbsession) -> int:
    dbsession.expire_all()
    return (dbsession.scalar(select(func.count()).select_from(Attendance))
            + dbsession.scalar(select(func.count()).select_from(PendingAttendanceClaim)))


def import_form(page):
    return next(form for form in page.forms.values() if form.action.endswith("/import"))


def test_the_check_offers_the_valid_rows_and_writes_nothing(testapp, dbsession, site,
                                                           as_coordinator):
    before = table_counts(dbsession)
    page = check(testapp, "実績.xlsx", xlsx_bytes(sample_rows()))
    assert "17 行のうち" not in page.text and "14 行のうち 4 行に問題があります" in page.text
    assert "正しい 10 行だけを取り込む" in page.text and "直す行をダウンロード" in page.text
    assert table_counts(dbsession) == before
    upload = kept(dbsession)
    assert (upload.site_id, upload.uploaded_by_id, upload.filename) == (
        site.id, as_coordinator.id, "実績.xlsx")
    assert import_form(page)["rows"].value == "valid"


def test_import_the_valid_rows_then_the_fixed_ones(testapp, dbsession, site, as_coordinator):
    page = check(testapp, "実績.xlsx", xlsx_bytes(sample_rows()))
    result = import_form(page).submit(status=303).follow()
    assert "正しい 10 行を取り込みました。" in result.text
    assert recorded(dbsession) == 10
    record = dbsession.scalar(select(AttendanceImport))
    assert result.request.path == f"{BASE}{record.id}"
    assert "取り込まなかった行" in result.text and "4 行は問題があったため" in result.text
    # the result lists the activities and the people kept until they verify (audited)
    activities = result.html.select_one("#activities-heading").find_next("table")
    assert len(activities.select("tbody tr")) == 3
    waiting = result.html.select_one("#pending-heading").find_next("table")
    assert len(waiting.select("tbody tr")) == 9
    assert dbsession.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "attendance.import.pending_read")) == 1

    download = result.click(description="直す行をダウンロード")
    assert download.content_type.startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "%E8%A6%81%E4%BF%AE%E6%AD%A3.xlsx" in download.headers["Content-Disposition"]
    rows = [list(row) for row in openpyxl.load_workbook(io.BytesIO(download.body))
            .active.iter_rows(values_only=True)]
    original = sample_rows()
    assert [row[:11] for row in rows[:3]] == original[:3] and rows[2][11] == "直すこと"
    assert [row[:11] for row in rows[3:]] == [original[n - 1] for n in sorted(FUTURE_ROWS)]
    assert [re.match(r"元の(\d+)行目: C: ", row[11]).group(1) for row in rows[3:]] == [
        str(n) for n in sorted(FUTURE_ROWS)]
    assert rows[3][11].endswith("まだ行われていない活動です。記録できるのは終わった活動だけです。")

    fixed = xlsx_bytes(in_the_past([row[:11] for row in rows]))
    again = check(testapp, "実績_要修正.xlsx", fixed, status=200)
    assert "問題はありません" in again.text
    import_form(again).submit(status=303).follow()
    assert recorded(dbsession) == 14


def test_a_file_without_problems_is_imported_whole(testapp, dbsession, site, as_coordinator):
    page = check(testapp, "実績.xlsx", xlsx_bytes(in_the_past(sample_rows())), status=200)
    form = import_form(page)
    assert form["rows"].value == "all" and "直す行をダウンロード" not in page.text
    form.submit(status=303).follow()
    assert recorded(dbsession) == 14


def test_rows_to_fix_of_a_csv_come_back_as_csv_in_its_encoding(testapp, dbsession, site,
                                                               as_coordinator):
    check(testapp, "実績.csv", csv_bytes(sample_rows(), encoding="cp932"))
    download = testapp.get(f"{BASE}uploads/{kept(dbsession).id}/corrections")
    assert download.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(download.body.decode("cp932"))))
    assert rows[0][:2] == ["ID", "活動名"] and rows[0][11] == "直すこと"
    # CSV rows are numbered from the column names: the future rows are 12–15 there
    assert [row[11].split(":")[0] for row in rows[1:]] == [f"元の{n}行目" for n in range(12, 16)]


def test_english_readers_get_the_problems_in_english(testapp, dbsession, site,
                                                     as_coordinator):
    testapp.set_cookie("_LOCALE_", "en")
    check(testapp, "records.xlsx", xlsx_bytes(sample_rows()))
    download = testapp.get(f"{BASE}uploads/{kept(dbsession).id}/corrections")
    sheet = openpyxl.load_workbook(io.BytesIO(download.body)).active
    assert sheet.cell(3, 12).value == "Problems to fix"
    assert sheet.cell(4, 12).value.startswith("Row 14: C: ")
    assert "records_to fix.xlsx" in download.headers["Content-Disposition"].replace(
        "%20", " ")


def test_a_kept_file_of_another_site_or_too_old_is_not_used(testapp, dbsession, site, clock,
                                                            as_coordinator):
    page = check(testapp, "実績.xlsx", xlsx_bytes(sample_rows()))
    upload = kept(dbsession)
    other = make_site(dbsession, MATSUMOTO)
    foreign = ImportUpload(site_id=other.id, filename="x.xlsx", sha256="0" * 64, size=1,
                           content=b"x", created_at=clock())
    dbsession.add(foreign)
    dbsession.flush()
    assert testapp.get(f"{BASE}uploads/{foreign.id}/corrections",
                       expect_errors=True).status_int == 404
    upload.created_at = clock() - timedelta(hours=25)
    dbsession.flush()
    gone = import_form(page).submit(status=303).follow()
    assert "保管期間を過ぎました" in gone.text and recorded(dbsession) == 0


@pytest.mark.parametrize("role", ["editor", "partner"])
def test_only_who_may_import_uses_a_kept_file(testapp, dbsession, site, clock, app_settings,
                                              as_coordinator, role):
    check(testapp, "実績.xlsx", xlsx_bytes(sample_rows()))
    upload = kept(dbsession)
    sign_in(testapp, dbsession, make_staff(dbsession, site, role), clock, app_settings)
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      testapp.get(f"/s/{NAGANO_CITY}/").text).group(1)
    assert testapp.get(f"{BASE}uploads/{upload.id}/corrections",
                       expect_errors=True).status_int == 403
    assert testapp.post(f"{BASE}uploads/{upload.id}/import",
                        {"csrf_token": token, "rows": "valid"},
                        expect_errors=True).status_int == 403
    assert recorded(dbsession) == 0


def test_importing_a_kept_file_needs_the_csrf_token(testapp, dbsession, site, as_coordinator):
    check(testapp, "実績.xlsx", xlsx_bytes(sample_rows()))
    response = testapp.post(f"{BASE}uploads/{kept(dbsession).id}/import", {"rows": "valid"},
                            expect_errors=True)
    assert response.status_int in (400, 403) and recorded(dbsession) == 0


def test_the_result_shows_the_refused_rows_in_the_readers_language(testapp, dbsession, site,
                                                                   as_coordinator):
    page = check(testapp, "実績.xlsx", xlsx_bytes(sample_rows()))
    result = import_form(page).submit(status=303).follow()
    refused = result.html.select_one("#refused-heading").find_next("table")
    assert "まだ行われていない活動です。" in refused.get_text()
    testapp.set_cookie("_LOCALE_", "en")
    english = testapp.get(result.request.path)
    refused = english.html.select_one("#refused-heading").find_next("table")
    assert "This activity has not taken place yet" in refused.get_text()
