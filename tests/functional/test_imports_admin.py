"""The import screen for earlier activity records: /s/{code}/imports/."""
import re
from datetime import date

import pytest
from sqlalchemy import select
from webtest import Upload

from furusato_cms.models import Attendance, AttendanceImport

from ..content_factories import signed_in_staff
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff, sign_in
from ..fixtures_import import (
    csv_bytes,
    make_verified,
    past_sample,
    set_cell,
    table_counts,
    xlsx_bytes,
)

BASE = f"/s/{NAGANO_CITY}/imports/"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def as_coordinator(testapp, dbsession, site, clock, app_settings):
    make_verified(dbsession, "佐藤 健一", date(1974, 2, 18), "1247834")
    return signed_in_staff(testapp, dbsession, site, clock, app_settings, "coordinator")


def send(testapp, filename, data, button="check", status=200):
    form = testapp.get(BASE).forms["deform"]
    form["upload"] = Upload(filename, data)
    return form.submit(button, status=status)


def error_rows(page) -> list:
    return [[cell.get_text(strip=True) for cell in row.select("td")]
            for row in page.html.select("table tbody tr") if len(row.select("td")) == 3]


def test_the_page_explains_the_template_in_japanese(testapp, site, as_coordinator):
    page = testapp.get(BASE)
    assert "活動実績の取り込み" in page.text
    assert "J: 生年月日 (必須)" in page.text
    assert {b.get("name") for b in page.html.select("form#deform button")} >= {"check", "import"}
    assert "まだ取り込みはありません。" in page.text


def test_check_only_reports_and_writes_nothing(testapp, dbsession, site, as_coordinator):
    before = table_counts(dbsession)
    page = send(testapp, "実績.xlsx", xlsx_bytes(past_sample()))
    assert "確認結果：問題はありません" in page.text
    summary = {row.th.get_text(strip=True): row.td.get_text(strip=True)
               for row in page.html.select("table tbody tr") if row.th}
    assert summary["読み込んだ行"] == "14" and summary["新しく作った活動"] == "5"
    assert summary["記録した参加"] == "2" and summary["本人確認まで保管"] == "12"
    assert table_counts(dbsession) == before


def test_import_records_and_shows_the_stored_report(testapp, dbsession, site, as_coordinator):
    page = send(testapp, "実績.csv", csv_bytes(past_sample(), encoding="cp932"), "import",
                status=303).follow()
    assert "活動実績を取り込みました。" in page.text and "取り込み結果" in page.text
    record = dbsession.scalar(select(AttendanceImport))
    assert page.request.path == f"{BASE}{record.id}"
    assert record.filename == "実績.csv" and record.imported_by_id == as_coordinator.id
    assert dbsession.scalar(select(Attendance.source)) == "import"

    listing = testapp.get(BASE)
    assert f"{BASE}{record.id}" in listing.text and "実績.csv" in listing.text
    assert "12 件は、本人確認を待っています" in listing.text

    again = send(testapp, "実績.csv", csv_bytes(past_sample()), "import", status=303).follow()
    assert re.search(r"記録済み（重ねて記録しません）\s*</th>\s*<td>14<", again.text)


def test_rows_with_errors_are_listed_and_nothing_is_imported(testapp, dbsession, site,
                                                              as_coordinator):
    rows = set_cell(past_sample(), 6, "J", "昭和49年")
    rows = set_cell(rows, 9, "H", "０６７－３２１")
    before = table_counts(dbsession)
    page = send(testapp, "実績.xlsx", xlsx_bytes(rows), "import", status=400)
    assert "取り込みませんでした" in page.text
    assert error_rows(page) == [
        ["6", "J", "「昭和49年」は生年月日として読めません。1974/2/18 や 昭和49年2月18日 のように"
                   "書いてください。"],
        ["9", "H", "「067-321」は郵便番号ではありません。124-7834 のように7桁で書いてください。"],
    ]
    assert table_counts(dbsession) == before


def test_errors_in_english_for_english_readers(testapp, site, as_coordinator):
    testapp.set_cookie("_LOCALE_", "en")
    rows = set_cell(past_sample(), 3, "C", "開始日時")
    page = send(testapp, "records.xlsx", xlsx_bytes(rows), status=400)
    assert error_rows(page) == [["3", "C", "Column C should be “活動開始日時” but it is “開始日時”."]]


@pytest.mark.parametrize("filename,data,expected", [
    ("memo.xlsx", "ただのメモです".encode(), "中身が Excel のブック（.xlsx）ではありません"),
    ("memo.txt", b"memo", "CSV ファイル（.csv）でアップロードしてください"),
    ("big.xlsx", None, "MB を超えています"),
])
def test_unusable_files_are_refused_on_the_form(testapp, dbsession, site, as_coordinator,
                                                app_settings, filename, data, expected):
    if data is None:
        data = b"PK\x03\x04" + b"0" * app_settings.upload_max_bytes
    before = table_counts(dbsession)
    page = send(testapp, filename, data, "import", status=400)
    assert expected in page.text
    assert table_counts(dbsession) == before


def test_a_missing_file_re_renders_the_form(testapp, site, as_coordinator):
    form = testapp.get(BASE).forms["deform"]
    page = form.submit("import", status=400)
    assert "活動実績のファイル" in page.text


@pytest.mark.parametrize("role,allowed", [
    ("site_admin", True), ("coordinator", True), ("editor", False), ("partner", False),
    ("other_site_admin", False),
])
def test_who_may_import(testapp, dbsession, site, clock, app_settings, role, allowed):
    other = make_site(dbsession, MATSUMOTO)
    account = (make_staff(dbsession, other, "site_admin") if role == "other_site_admin"
               else make_staff(dbsession, site, role))
    sign_in(testapp, dbsession, account, clock, app_settings)
    record = AttendanceImport(site_id=site.id, filename="x.csv", sha256="0" * 64,
                              imported_at=clock(), report={"rows_read": 1})
    dbsession.add(record)
    dbsession.flush()
    expected = 200 if allowed else 403
    assert testapp.get(BASE, expect_errors=True).status_int == expected
    assert testapp.get(f"{BASE}{record.id}", expect_errors=True).status_int == expected
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      testapp.get(f"/s/{NAGANO_CITY}/").text).group(1)
    response = testapp.post(BASE, [
        ("csrf_token", token), ("__start__", "upload:mapping"),
        ("upload", Upload("a.csv", csv_bytes(past_sample()))), ("__end__", "upload:mapping"),
        ("check", "check"),
    ], expect_errors=True)
    assert (response.status_int == 200) is allowed and (response.status_int == 403) is not allowed


def test_visitors_are_sent_to_sign_in(testapp, site):
    response = testapp.get(BASE, expect_errors=True)
    assert response.status_int in (302, 303, 403) and (
        response.status_int == 403 or "/signin" in response.location)


def test_another_sites_import_is_not_found(testapp, dbsession, site, as_coordinator, clock):
    other = make_site(dbsession, MATSUMOTO)
    record = AttendanceImport(site_id=other.id, filename="x.csv", sha256="0" * 64,
                              imported_at=clock(), report={})
    dbsession.add(record)
    dbsession.flush()
    assert testapp.get(f"{BASE}{record.id}", expect_errors=True).status_int == 404
