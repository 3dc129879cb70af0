"""Import of earlier activity records in the national template (担い手活動実績の取込)."""
import dataclasses
import io
import json
import os
import tracemalloc
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from furusato_cms.clock import FixedClock
from furusato_cms.models import (
    ActivitySession,
    Attendance,
    AttendanceImport,
    AuditEntry,
    IdentityVerification,
    PendingAttendanceClaim,
    Project,
    Site,
)
from furusato_cms.services.activity_import import ActivityImportService, TemplateMismatch
from furusato_cms.services.cell_dates import parse_birthdate, parse_when
from furusato_cms.services.tabular_files import FileError, name_key, postal_code
from furusato_cms.services.audit import Actor

from ..activity_factories import make_project, make_session
from .. import script_support
from ..concurrency.support import needs_postgresql, second_behind_first
from ..conftest import NOW
from ..factories import NAGANO_CITY, make_site, make_staff
from ..fixtures_import import (
    SAMPLE_CSV,
    SAMPLE_XLSX,
    csv_bytes,
    make_verified,
    past_sample,
    sample_rows,
    set_cell,
    table_counts,
    xlsx_bytes,
)
from ..script_support import write_ini

JST = timezone(timedelta(hours=9))


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def actor(dbsession, site):
    staff = make_staff(dbsession, site, "coordinator")
    return Actor(account_id=staff.id, label=staff.email, client_addr="127.0.0.1")


@pytest.fixture
def service(dbsession, clock, app_settings):
    return ActivityImportService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def people(dbsession):
    """Three of the sample's participants are verified registrants; their names are
    stored with other spacing than the file's."""
    return {
        "sato": make_verified(dbsession, "佐藤健一", date(1974, 2, 18), "1247834"),
        "suzuki": make_verified(dbsession, "鈴木　美咲", date(1990, 11, 3), "5631129"),
        "nakamura": make_verified(dbsession, "中村 悠真", date(2008, 5, 21), "4702281"),
    }


def run(service, actor, site, filename, data, **kw):
    return service.import_file(actor, site, filename, io.BytesIO(data), **kw)


def counts(report) -> dict:
    return {k: v for k, v in report.as_dict().items()
            if k in ("rows_read", "activities_created", "activities_matched",
                     "attendance_recorded", "already_recorded", "pending_claims",
                     "error_count")}


def errors(report) -> list:
    return [(e["row"], e["column"], e["message"]) for e in report.as_dict()["errors"]]


FIRST_IMPORT = {"rows_read": 14, "activities_created": 5, "activities_matched": 0,
                "attendance_recorded": 5, "already_recorded": 0, "pending_claims": 9,
                "error_count": 0}


# -- the shared sample ------------------------------------------------------------------

@pytest.mark.parametrize("filename,data,yamamoto_row", [
    ("sample.xlsx", lambda: xlsx_bytes(past_sample()), 9),
    ("sample.csv", lambda: csv_bytes(past_sample()), 7),
], ids=["xlsx", "csv"])
def test_sample_imports_activities_attendance_and_claims(dbsession, service, actor, site, people,
                                                         filename, data, yamamoto_row):
    """Row numbers are the file's own: the CSV has no heading rows above the column names."""
    report = run(service, actor, site, filename, data())
    dbsession.expire_all()

    assert counts(report) == FIRST_IMPORT
    assert report.imported and report.import_id is not None
    projects = dbsession.scalars(select(Project).order_by(Project.external_ref)).all()
    assert [p.external_ref for p in projects] == ["EVT-001", "EVT-002", "EVT-003", "EVT-004",
                                                  "EVT-005"]
    first = projects[0]
    assert (first.title, first.state, first.designated, first.import_site_id) == (
        "農業ボランティア", "archived", True, site.id)
    assert projects[2].conditions == "先着30名"
    session = first.sessions[0]
    assert session.starts_at == datetime(2026, 4, 10, 10, 0, tzinfo=JST)
    assert session.ends_at == datetime(2026, 4, 10, 12, 0, tzinfo=JST)
    assert session.place == "市中央ホールA"
    attended = dbsession.execute(
        select(Attendance.account_id, Project.external_ref, Attendance.attended_at,
               Attendance.source, Attendance.import_id)
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .join(Project, Project.id == ActivitySession.project_id)
    ).all()
    assert sorted((a[0], a[1]) for a in attended) == sorted([
        (people["sato"].id, "EVT-001"), (people["sato"].id, "EVT-005"),
        (people["suzuki"].id, "EVT-001"),
        (people["nakamura"].id, "EVT-003"), (people["nakamura"].id, "EVT-004"),
    ])
    assert all(a.source == "import" and a.import_id == report.import_id for a in attended)
    assert {a.attended_at for a in attended if a.external_ref == "EVT-001"} == {session.starts_at}
    claim = dbsession.scalar(select(PendingAttendanceClaim)
                             .where(PendingAttendanceClaim.name_key == "山本彩"))
    assert (claim.birthdate, claim.postal_code, claim.attached_at) == (
        date(1996, 12, 8), "0673214", None)
    assert claim.source_row == {"row": yamamoto_row, "name": "山本 彩", "gender": "女性"}
    stored = dbsession.get(AttendanceImport, report.import_id)
    assert stored.report["attendance_recorded"] == 5 and stored.filename == filename
    audit = dbsession.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.import"))
    assert audit.site_id == site.id and audit.detail["pending_claims"] == 9


def test_the_sample_as_published_has_activities_after_now(dbsession, service, actor, site):
    """EVT-004 (2027年1月2日) and EVT-005 (2027年3月21日) have not happened at NOW: their
    rows are refused, so nothing at all is imported."""
    before = table_counts(dbsession)
    for path, first in ((SAMPLE_XLSX, 14), (SAMPLE_CSV, 12)):
        with open(path, "rb") as stream:
            report = service.import_file(actor, site, path.name, stream)
        assert [(row, column) for row, column, _m in errors(report)] == [
            (first + n, "C") for n in range(4)]
        assert "not taken place yet" in errors(report)[0][2]
        assert not report.imported and report.attendance_recorded == 0
    assert table_counts(dbsession) == before


def test_the_sample_imports_once_its_dates_are_past(dbsession, actor, site, app_settings):
    later = ActivityImportService(dbsession, clock=FixedClock(datetime(2027, 4, 1, tzinfo=JST)),
                                  settings=app_settings)
    with open(SAMPLE_XLSX, "rb") as stream:
        report = later.import_file(actor, site, SAMPLE_XLSX.name, stream)
    assert report.imported and report.activities_created == 5 and report.pending_claims == 14


# -- idempotency, dry run, pending claims -----------------------------------------------

def test_importing_twice_records_nothing_twice(dbsession, service, actor, site, people):
    data = xlsx_bytes(past_sample())
    run(service, actor, site, "sample.xlsx", data)
    after_first = table_counts(dbsession)

    again = run(service, actor, site, "sample-again.csv", csv_bytes(past_sample()))

    assert counts(again) == {**FIRST_IMPORT, "activities_created": 0, "activities_matched": 5,
                             "attendance_recorded": 0, "pending_claims": 0,
                             "already_recorded": 14}
    now = table_counts(dbsession)
    assert {k: now[k] - after_first[k] for k in now} == {
        "projects": 0, "sessions": 0, "attendance": 0, "claims": 0, "content": 0,
        "imports": 1, "audit": 1}


def test_the_same_person_twice_in_one_activity_counts_once(dbsession, service, actor, site,
                                                           people):
    rows = past_sample()
    rows.insert(4, list(rows[3]))
    report = run(service, actor, site, "twice.xlsx", xlsx_bytes(rows))
    assert report.attendance_recorded == 5 and report.already_recorded == 1


def test_dry_run_reports_what_would_happen_and_writes_nothing(dbsession, service, actor, site,
                                                              people):
    before = table_counts(dbsession)
    report = run(service, actor, site, "sample.xlsx", xlsx_bytes(past_sample()), dry_run=True)

    assert counts(report) == FIRST_IMPORT
    assert report.dry_run and not report.imported and report.import_id is None
    assert table_counts(dbsession) == before


def test_pending_claims_attach_when_the_person_verifies(dbsession, service, actor, site, people):
    rows = set_cell(past_sample(), 13, "G", "吉田　 美優")
    run(service, actor, site, "sample.xlsx", xlsx_bytes(rows))
    yoshida = make_verified(dbsession, "吉田 美優", date(1988, 10, 9), "5034472")
    staff_recorded = dbsession.scalar(
        select(ActivitySession).join(Project).where(Project.external_ref == "EVT-004"))
    dbsession.add(Attendance(session_id=staff_recorded.id, account_id=yoshida.id,
                             site_id=site.id, attended_at=staff_recorded.starts_at,
                             recorded_at=NOW, source="staff", designated=True))
    dbsession.flush()
    verification = verification_of(dbsession, yoshida)

    attached = service.attach_pending_claims(yoshida, verification)
    dbsession.expire_all()

    assert attached == 2
    rows = dbsession.execute(
        select(Project.external_ref, Attendance.source, Attendance.attended_at,
               ActivitySession.starts_at)
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .join(Project, Project.id == ActivitySession.project_id)
        .where(Attendance.account_id == yoshida.id).order_by(Project.external_ref)
    ).all()
    assert [(r.external_ref, r.source) for r in rows] == [("EVT-003", "import"),
                                                          ("EVT-004", "staff")]
    assert rows[0].attended_at == rows[0].starts_at
    claims = dbsession.scalars(select(PendingAttendanceClaim)
                               .where(PendingAttendanceClaim.name_key == "吉田美優")).all()
    assert all(c.attached_at == NOW and c.attendance_id is not None for c in claims)
    assert {c.attendance_id for c in claims} == set(dbsession.scalars(
        select(Attendance.id).where(Attendance.account_id == yoshida.id)))
    assert service.attach_pending_claims(yoshida, verification) == 0
    assert service.pending_claims_count(site) == 7


def test_claims_of_another_person_do_not_attach(dbsession, service, actor, site):
    run(service, actor, site, "sample.xlsx", xlsx_bytes(past_sample()))
    namesake = make_verified(dbsession, "吉田 美優", date(1988, 10, 9), "5030000")
    assert service.attach_pending_claims(namesake, verification_of(dbsession,
                                                                          namesake)) == 0
    assert service.pending_claims_count(site) == 14


def verification_of(dbsession, account):
    return dbsession.scalar(select(IdentityVerification)
                            .where(IdentityVerification.account_id == account.id))


def test_re_import_after_verification_is_already_recorded(dbsession, service, actor, site):
    data = xlsx_bytes(past_sample())
    run(service, actor, site, "sample.xlsx", data)
    yoshida = make_verified(dbsession, "吉田美優", date(1988, 10, 9), "5034472")
    service.attach_pending_claims(yoshida, verification_of(dbsession, yoshida))

    again = run(service, actor, site, "sample.xlsx", data)

    assert again.attendance_recorded == 0 and again.pending_claims == 0
    assert again.already_recorded == 14


def test_imported_attendance_keeps_its_projects_designation_of_the_moment(
        dbsession, service, actor, site):
    """A new imported activity is designated; an activity the site undesignated since an
    earlier import gives undesignated attendance, whether recorded by a later import or
    attached when a pending participant verifies (issue 12, rule 6)."""
    data = xlsx_bytes(past_sample())
    run(service, actor, site, "sample.xlsx", data)
    for ref in ("EVT-001", "EVT-003"):
        dbsession.scalar(select(Project).where(Project.external_ref == ref)).designated = False
    sato = make_verified(dbsession, "佐藤健一", date(1974, 2, 18), "1247834")
    dbsession.flush()

    assert run(service, actor, site, "sample.xlsx", data).attendance_recorded == 2
    yoshida = make_verified(dbsession, "吉田美優", date(1988, 10, 9), "5034472")
    assert service.attach_pending_claims(yoshida, verification_of(dbsession, yoshida)) == 2

    stored = dbsession.execute(
        select(Attendance.account_id, Project.external_ref, Attendance.designated)
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .join(Project, Project.id == ActivitySession.project_id)
        .order_by(Attendance.account_id, Project.external_ref)
    ).all()
    assert [tuple(row) for row in stored] == [
        (sato.id, "EVT-001", False), (sato.id, "EVT-005", True),
        (yoshida.id, "EVT-003", False), (yoshida.id, "EVT-004", True),
    ]


def test_a_first_import_records_designated_attendance(dbsession, service, actor, site, people):
    run(service, actor, site, "sample.xlsx", xlsx_bytes(past_sample()))
    assert set(dbsession.scalars(select(Attendance.designated))) == {True}


# -- matching ---------------------------------------------------------------------------

def test_matching_ignores_width_and_spacing_but_not_birthdate_or_postal_code(
        dbsession, service, actor, site, people):
    rows = past_sample()
    rows = set_cell(rows, 4, "G", "佐藤　　健一")          # full-width spaces
    rows = set_cell(rows, 4, "H", "１２４－７８３４")       # full-width digits and dash
    rows = set_cell(rows, 4, "J", "Ｓ４９．２．１８")       # full-width era date
    rows = set_cell(rows, 5, "G", "鈴木美咲")
    rows = set_cell(rows, 5, "J", "平成2年11月3日")         # 1990-11-03
    rows = set_cell(rows, 10, "H", "470-2282")             # another postal code
    rows = set_cell(rows, 14, "J", "2008/5/22")            # another date of birth
    report = run(service, actor, site, "variants.xlsx", xlsx_bytes(rows))

    assert report.ok, errors(report)
    dbsession.expire_all()
    matched = set(dbsession.execute(
        select(Attendance.account_id, Project.external_ref)
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .join(Project, Project.id == ActivitySession.project_id)).all())
    assert matched == {(people["sato"].id, "EVT-001"), (people["sato"].id, "EVT-005"),
                       (people["suzuki"].id, "EVT-001")}
    assert report.pending_claims == 11


def test_disabled_accounts_are_not_matched(dbsession, service, actor, site, people):
    people["sato"].disabled_at = NOW
    dbsession.flush()
    report = run(service, actor, site, "sample.xlsx", xlsx_bytes(past_sample()))
    assert report.attendance_recorded == 3 and report.pending_claims == 11


def test_two_verified_people_with_one_key_are_refused(dbsession, service, actor, site, people):
    make_verified(dbsession, "佐藤 健一", date(1974, 2, 18), "1247834", email="twin@example.jp")
    before = table_counts(dbsession)
    report = run(service, actor, site, "sample.xlsx", xlsx_bytes(past_sample()))
    assert [(r, c) for r, c, _m in errors(report)] == [(4, "G"), (17, "G")]
    assert "Several verified registrants" in errors(report)[0][2]
    assert table_counts(dbsession) == before


# -- activities -------------------------------------------------------------------------

def test_rows_without_an_id_are_grouped_by_name_time_and_place(dbsession, service, actor, site):
    rows = past_sample()
    for number in (8, 9, 10):
        rows = set_cell(rows, number, "A", None)
    rows = set_cell(rows, 9, "B", "清掃活動 ")                 # trailing space: same activity
    rows = set_cell(rows, 10, "E", "モデルタウン運動広場２")    # another place: another one
    first = run(service, actor, site, "noid.xlsx", xlsx_bytes(rows))
    again = run(service, actor, site, "noid.xlsx", xlsx_bytes(rows))

    assert first.activities_created == 7 and again.activities_matched == 7
    assert again.activities_created == 0 and again.already_recorded == 14
    refs = dbsession.scalars(select(Project.external_ref)
                             .where(Project.external_ref.like("auto:%"))).all()
    assert len(refs) == 2


def test_rows_with_one_id_must_describe_one_activity(dbsession, service, actor, site):
    rows = set_cell(past_sample(), 6, "C", "2026年4月10日 11:00")
    rows = set_cell(rows, 12, "E", "別の広場")
    before = table_counts(dbsession)
    report = run(service, actor, site, "mixed.xlsx", xlsx_bytes(rows))
    assert [(r, c) for r, c, _m in errors(report)] == [(6, "C"), (12, "E")]
    assert "row 4" in errors(report)[0][2] and "2026-04-10 10:00" in errors(report)[0][2]
    assert table_counts(dbsession) == before


def test_an_id_imported_earlier_with_other_dates_is_refused(dbsession, service, actor, site):
    run(service, actor, site, "sample.xlsx", xlsx_bytes(past_sample()))
    rows = past_sample()
    for number in (4, 5, 6):
        rows = set_cell(rows, number, "C", "2026年4月11日 10:00")
        rows = set_cell(rows, number, "D", "2026年4月11日 12:00")
    before = table_counts(dbsession)
    report = run(service, actor, site, "renumbered.xlsx", xlsx_bytes(rows))
    assert [(r, c) for r, c, _m in errors(report)] == [(4, "C")]
    assert "EVT-001" in errors(report)[0][2]
    assert table_counts(dbsession) == before


def test_other_sites_activities_are_not_matched(dbsession, service, actor, site):
    other = make_site(dbsession, "202029")
    project = make_project(dbsession, other, "農業ボランティア", external_ref="EVT-001",
                           import_site_id=other.id)
    make_session(dbsession, project, datetime(2026, 4, 10, 10, tzinfo=JST), hours=2)
    report = run(service, actor, site, "sample.xlsx", xlsx_bytes(past_sample()))
    assert report.activities_created == 5


# -- rules per row ----------------------------------------------------------------------

@pytest.mark.parametrize("letter,value,expected", [
    ("C", "2026年3月31日 10:00", "before 1 April 2026"),
    ("C", "2026年11月25日 13:00", "not taken place yet"),
    ("C", "2026年4月10日", "date and the time"),
    ("C", "平成31年5月1日 10:00", "not a date of the 平成 era"),
    ("C", "2026/2/30 10:00", "not a real date"),
    ("C", "来週の月曜", "is not a date and time"),
    ("D", "2026年4月10日 9:00", "end must be after the start"),
    ("G", None, "required cell is empty"),
    ("G", "　", "required cell is empty"),
    ("H", "1234", "not a postal code"),
    ("J", "2030/1/1", "cannot be right"),
    ("J", "昭和49年", "not a date of birth"),
    ("B", "あ" * 201, "at most 200 characters"),
])
def test_row_level_errors_name_row_and_column_and_write_nothing(
        dbsession, service, actor, site, letter, value, expected):
    rows = set_cell(past_sample(), 5, letter, value)
    before = table_counts(dbsession)
    report = run(service, actor, site, "bad.xlsx", xlsx_bytes(rows))
    found = [e for e in errors(report) if e[0] == 5]
    assert [(r, c) for r, c, _m in found] == [(5, letter)]
    assert expected in found[0][2]
    assert not report.imported and report.attendance_recorded == report.pending_claims == 0
    assert table_counts(dbsession) == before


def test_a_row_may_give_the_end_as_a_time_of_the_same_day(dbsession, service, actor, site):
    rows = set_cell(past_sample(), 4, "D", "12:00")
    rows = set_cell(rows, 5, "D", "正午")
    report = run(service, actor, site, "end.xlsx", xlsx_bytes(rows))
    assert [(r, c) for r, c, _m in errors(report)] == [(5, "D")]
    ok = run(service, actor, site, "end.xlsx", xlsx_bytes(set_cell(rows, 5, "D", "12:00")))
    assert ok.imported and ok.activities_created == 5


def test_every_error_is_reported_at_once(dbsession, service, actor, site):
    rows = past_sample()
    for number in range(4, 18):
        rows = set_cell(rows, number, "H", "不明")
    report = run(service, actor, site, "bad.xlsx", xlsx_bytes(rows))
    assert [r for r, _c, _m in errors(report)] == list(range(4, 18))
    assert report.rows_read == 14 and report.error_count == 14


# -- messy files --------------------------------------------------------------------------

def test_full_width_digits_and_era_dates_are_understood(dbsession, service, actor, site, people):
    rows = past_sample()
    rows = set_cell(rows, 4, "C", "令和８年４月１０日　１０：００")
    rows = set_cell(rows, 4, "D", "R8.4.10 12:00")
    rows = set_cell(rows, 5, "C", "R8/4/10 10時")
    rows = set_cell(rows, 5, "D", "令和8年4月10日(金) 正午".replace("正午", "午後0時"))
    rows = set_cell(rows, 6, "C", datetime(2026, 4, 10, 10, 0))      # an Excel date cell
    rows = set_cell(rows, 6, "D", "2026-04-10T12:00")
    rows = set_cell(rows, 6, "J", datetime(1955, 7, 29))
    rows = set_cell(rows, 9, "H", 673214)                            # Excel dropped the 0
    report = run(service, actor, site, "messy.xlsx", xlsx_bytes(rows))

    assert counts(report) == FIRST_IMPORT, errors(report)
    dbsession.expire_all()
    assert dbsession.scalar(select(PendingAttendanceClaim.postal_code)
                            .where(PendingAttendanceClaim.name_key == "山本彩")) == "0673214"


def test_blank_rows_are_skipped(dbsession, service, actor, site, people):
    rows = past_sample()
    for position in (17, 10, 6):
        rows.insert(position, [None] * 11)
    rows.insert(8, ["", " ", "　"] + [None] * 8)
    rows.append([None] * 11)
    report = run(service, actor, site, "blank.xlsx", xlsx_bytes(rows))
    assert counts(report) == FIRST_IMPORT


def test_merged_cells_leave_the_other_rows_empty_and_say_so(dbsession, service, actor, site):
    before = table_counts(dbsession)
    report = run(service, actor, site, "merged.xlsx",
                 xlsx_bytes(past_sample(), merges=("C4:C6", "B8:B13")))
    assert [(r, c) for r, c, _m in errors(report)] == [
        (5, "C"), (6, "C"), (9, "B"), (10, "B"), (11, "B"), (12, "B"), (13, "B")]
    assert "If cells are merged" in errors(report)[0][2]
    assert table_counts(dbsession) == before


@pytest.mark.parametrize("row_3,expected", [
    ({"C": "開始日時"}, [(3, "C", "Column C should be “活動開始日時” but it is “開始日時”.")]),
    ({"J": None, "K": None}, [(3, "J", "Column J should be “生年月日” but it is empty."),
                              (3, "K", "Column K should be “性別” but it is empty.")]),
])
def test_wrong_column_names_are_reported_by_column(dbsession, service, actor, site, row_3,
                                                   expected):
    rows = past_sample()
    for letter, value in row_3.items():
        rows = set_cell(rows, 3, letter, value)
    before = table_counts(dbsession)
    report = run(service, actor, site, "headers.xlsx", xlsx_bytes(rows))
    assert errors(report) == expected and report.rows_read == 0
    assert table_counts(dbsession) == before
    with pytest.raises(TemplateMismatch) as raised:
        service.read_rows("headers.xlsx", io.BytesIO(xlsx_bytes(rows)))
    assert [(e.row, e.column) for e in raised.value.errors] == [(r, c) for r, c, _m in expected]


def test_column_names_in_full_width_or_with_spaces_are_accepted(dbsession, service, actor, site):
    rows = set_cell(past_sample(), 3, "I", "住所（除郵便番号）")
    rows = set_cell(rows, 3, "B", " 活動 名 ")
    assert run(service, actor, site, "ok.xlsx", xlsx_bytes(rows)).imported


def test_headings_removed_from_a_workbook_or_kept_in_a_csv(dbsession, service, actor, site):
    rows = past_sample()
    without_headings = run(service, actor, site, "short.xlsx",
                           xlsx_bytes(rows[2:], headings=False))
    assert without_headings.ok and without_headings.rows_read == 14
    text = csv_bytes([None, None, *rows]).decode()
    all_three = run(service, actor, site, "all.csv", text.encode(), dry_run=True)
    assert all_three.ok and all_three.rows_read == 14


def test_shift_jis_csv_as_excel_writes_it(dbsession, service, actor, site, people):
    report = run(service, actor, site, "sjis.csv", csv_bytes(past_sample(), encoding="cp932"))
    assert counts(report) == FIRST_IMPORT
    dbsession.expire_all()
    assert dbsession.scalar(select(Project.title).where(Project.external_ref == "EVT-004")) \
        == "雪下ろし"


def test_utf8_csv_with_bom(dbsession, service, actor, site, people):
    report = run(service, actor, site, "bom.csv", csv_bytes(past_sample(), encoding="utf-8-sig"))
    assert counts(report) == FIRST_IMPORT


def _damaged_xlsx():
    data = xlsx_bytes(past_sample())
    return data[: len(data) // 2]


@pytest.mark.parametrize("filename,data,expected", [
    ("notes.xlsx", "活動名,氏名\n清掃,佐藤\n".encode(), "not an Excel workbook"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old-format (.xls)"),
    ("protected.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "password"),
    ("sample.csv", None, "not CSV text"),
    ("notes.txt", "活動名\n".encode(), "as an Excel workbook (.xlsx) or a CSV file"),
    ("damaged.xlsx", None, "could not be read as an Excel workbook"),
    ("utf16.csv", "活動名,氏名\r\n".encode("utf-16"), "could not be read"),
    ("photo.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 40, "could not be read"),
    ("empty.csv", b"", "The file is empty"),
    ("header-only.csv", None, "no activity rows"),
])
def test_file_level_errors(dbsession, service, actor, site, filename, data, expected):
    if filename == "sample.csv":
        data = xlsx_bytes(past_sample())
    elif filename == "damaged.xlsx":
        data = _damaged_xlsx()
    elif filename == "header-only.csv":
        data = csv_bytes(past_sample()[:3])
    before = table_counts(dbsession)
    with pytest.raises(FileError) as raised:
        run(service, actor, site, filename, data)
    assert expected in raised.value.message.interpolate()
    assert raised.value.field == "upload"
    assert table_counts(dbsession) == before


def test_a_file_damaged_after_its_headings_is_refused_as_a_whole(dbsession, service, actor,
                                                                  site):
    good = csv_bytes(past_sample())
    broken = good + b"\r\n" * 40_000 + "EVT-009,".encode() + b"\xff\xfe\x80" * 10 + b"\r\n"
    before = table_counts(dbsession)
    with pytest.raises(FileError):
        run(service, actor, site, "broken.csv", broken)
    assert table_counts(dbsession) == before


def test_oversized_files_are_refused_unless_the_caller_allows_more(dbsession, actor, site,
                                                                    clock, app_settings):
    data = xlsx_bytes(past_sample())
    small = dataclasses.replace(app_settings, upload_max_bytes=len(data) - 1)
    service = ActivityImportService(dbsession, clock=clock, settings=small)
    with pytest.raises(FileError) as raised:
        run(service, actor, site, "big.xlsx", data)
    assert "larger than" in raised.value.message.interpolate()
    assert run(service, actor, site, "big.xlsx", data, max_bytes=len(data)).imported


def test_unseekable_streams_are_read_within_the_limit(dbsession, service, actor, site):
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.inner.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    report = service.import_file(actor, site, "pipe.csv", Pipe(csv_bytes(past_sample())))
    assert report.imported


# -- normalisation ------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("2026年4月10日 10:00", (date(2026, 4, 10), (10, 0))),
    ("２０２６年４月１０日　１０：００", (date(2026, 4, 10), (10, 0))),
    ("2026/4/10 10:00", (date(2026, 4, 10), (10, 0))),
    ("2026-04-10T10:00", (date(2026, 4, 10), (10, 0))),
    ("2026.4.10 9:30:15", (date(2026, 4, 10), (9, 30))),
    ("令和8年4月10日 10:00", (date(2026, 4, 10), (10, 0))),
    ("令和元年5月1日 10時", (date(2019, 5, 1), (10, 0))),
    ("R8.4.10 10:00", (date(2026, 4, 10), (10, 0))),
    ("r8/4/10 午後1時半", (date(2026, 4, 10), (13, 30))),
    ("2026年4月10日（金）10時30分", (date(2026, 4, 10), (10, 30))),
    ("12:00", (None, (12, 0))),
    (datetime(2026, 4, 10, 0, 0), (date(2026, 4, 10), None)),
    (46122.5, (date(2026, 4, 10), (12, 0))),
])
def test_dates_and_times_in_many_spellings(value, expected):
    day, at, _zone = parse_when(value)
    assert (day, at and (at.hour, at.minute)) == expected


@pytest.mark.parametrize("value,expected", [
    ("1974/2/18", date(1974, 2, 18)), ("S49.2.18", date(1974, 2, 18)),
    ("昭和49年2月18日", date(1974, 2, 18)), ("H2.11.3", date(1990, 11, 3)),
    ("平成元年1月8日", date(1989, 1, 8)), ("1974-02-18 00:00:00", date(1974, 2, 18)),
    (datetime(1974, 2, 18), date(1974, 2, 18)),
])
def test_dates_of_birth(value, expected):
    assert parse_birthdate(value, date(2026, 11, 25)) == expected


def test_names_and_postal_codes_normalised():
    assert name_key("佐藤　健一") == name_key(" 佐藤 健一 ") == name_key("佐藤健一") == "佐藤健一"
    assert name_key("ｻﾄｳ ｹﾝｲﾁ") == "サトウケンイチ"
    assert postal_code("〒１２４－７８３４") == postal_code(1247834) == "1247834"
    assert postal_code("124ー7834") == "1247834"


# -- volume -------------------------------------------------------------------------------

def big_workbook(path, rows: int, per_activity=100):
    """A template workbook with ``rows`` participants, written in write-only mode."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("担い手活動実績")
    sample = sample_rows()
    for heading in sample[:3]:
        sheet.append(heading)
    start = datetime(2026, 4, 1, 9, 0)
    for n in range(rows):
        activity = n // per_activity
        day = start + timedelta(days=activity % 230, minutes=activity // 230)
        sheet.append([
            f"BIG-{activity:05d}", f"活動{activity}", day, day + timedelta(hours=2),
            "公民館", "", f"参加 者{n:06d}", f"{100 + n % 900:03d}-{n % 10000:04d}",
            "長野県長野市", date(1950, 1, 1) + timedelta(days=n % 20000), "女性",
        ])
    workbook.save(path)


def measured_import(dbsession, service, actor, site, path):
    tracemalloc.start()
    try:
        with open(path, "rb") as stream:
            report = service.import_file(actor, site, path.name, stream,
                                         max_bytes=200 * 1024 * 1024)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return report, peak


def test_five_thousand_rows_in_batches(dbsession, service, actor, site, tmp_path):
    path = tmp_path / "5k.xlsx"
    big_workbook(path, 5000)
    make_verified(dbsession, "参加者000042", date(1950, 1, 1) + timedelta(days=42), "1420042")

    report, peak = measured_import(dbsession, service, actor, site, path)

    assert report.ok, errors(report)[:3]
    assert (report.rows_read, report.activities_created) == (5000, 50)
    assert (report.attendance_recorded, report.pending_claims) == (1, 4999)
    assert peak < 60 * 1024 * 1024
    assert table_counts(dbsession)["claims"] == 4999


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("FURUSATO_SLOW_TESTS") != "1",
                    reason="100,000 rows: set FURUSATO_SLOW_TESTS=1")
def test_a_hundred_thousand_rows_in_bounded_memory(dbsession, service, actor, site, tmp_path):
    path = tmp_path / "100k.xlsx"
    big_workbook(path, 100_000)

    report, peak = measured_import(dbsession, service, actor, site, path)

    assert report.ok and report.rows_read == 100_000 and report.pending_claims == 100_000
    assert peak < 150 * 1024 * 1024


# -- the console script -------------------------------------------------------------------

@pytest.fixture
def script_db(script_database, tmp_path):
    """A migrated SQLite file with the site and one verified participant, as the script
    finds a real database."""
    url, engine = script_database
    with Session(engine) as setup:
        make_site(setup, NAGANO_CITY)
        make_verified(setup, "佐藤 健一", date(1974, 2, 18), "1247834")
        setup.commit()
    return write_ini(tmp_path / "import.ini", url, base_url=False), engine


def run_script(ini, *args):
    result = script_support.run_script("furusato-import-activities", ini,
                                       "--at", NOW.isoformat(), *args, timeout=120)
    return result.returncode, result.stdout, result.stderr


def script_counts(engine) -> dict:
    with Session(engine) as session:
        return table_counts(session)


def test_console_script_dry_run_then_import_then_again(script_db, tmp_path):
    ini, engine = script_db
    path = tmp_path / "records.xlsx"
    path.write_bytes(xlsx_bytes(past_sample()))
    empty = script_counts(engine)

    status, out, err = run_script(ini, "--site", NAGANO_CITY, "--dry-run", str(path))
    assert (status, err) == (0, "")
    dry = json.loads(out)
    assert (dry["dry_run"], dry["imported"], dry["activities_created"], dry["pending_claims"],
            dry["attendance_recorded"]) == (True, False, 5, 12, 2)
    assert script_counts(engine) == empty

    status, out, _err = run_script(ini, "--site", NAGANO_CITY, str(path))
    first = json.loads(out)
    assert status == 0 and first["imported"] and first["attendance_recorded"] == 2
    assert script_counts(engine)["attendance"] == 2

    status, out, _err = run_script(ini, "--site", NAGANO_CITY, str(path))
    again = json.loads(out)
    assert status == 0 and again["already_recorded"] == 14 and again["activities_matched"] == 5
    assert script_counts(engine)["attendance"] == 2


def test_console_script_row_errors_in_japanese_or_english(script_db, tmp_path):
    ini, engine = script_db
    path = tmp_path / "records.csv"
    path.write_bytes(csv_bytes(set_cell(past_sample(), 5, "H", "不明"), encoding="cp932"))
    before = script_counts(engine)

    status, out, _err = run_script(ini, "--site", NAGANO_CITY, str(path))
    report = json.loads(out)
    assert status == 1 and not report["imported"]
    assert report["errors"] == [
        {"row": 3, "column": "H", "message": "「不明」は郵便番号ではありません。124-7834 のように7桁で書いてください。"}]
    assert script_counts(engine) == before

    status, out, _err = run_script(ini, "--site", NAGANO_CITY, "--lang", "en", str(path))
    assert status == 1
    assert json.loads(out)["errors"][0]["message"].startswith("“不明” is not a postal code.")


@pytest.mark.parametrize("args,expected", [
    (["--site", "999999", "FILE"], "no site"),
    (["--site", NAGANO_CITY, "MISSING"], "No such file"),
    (["--site", NAGANO_CITY, "TEXT"], "Excel"),
])
def test_console_script_unusable_input_exits_2(script_db, tmp_path, args, expected):
    ini, _engine = script_db
    text = tmp_path / "notes.xlsx"
    text.write_text("これは表ではありません", encoding="utf-8")
    good = tmp_path / "records.xlsx"
    good.write_bytes(xlsx_bytes(past_sample()))
    paths = {"FILE": str(good), "MISSING": str(tmp_path / "nothing.xlsx"), "TEXT": str(text)}
    status, out, _err = run_script(ini, *[paths.get(a, a) for a in args])
    assert status == 2 and expected in json.loads(out)["file_error"]


def test_console_script_usage_errors_exit_2(script_db):
    ini, _engine = script_db
    status, _out, err = run_script(ini, "records.xlsx")
    assert status == 2 and "--site" in err


# -- two imports at once (PostgreSQL) -------------------------------------------------------

@needs_postgresql
def test_two_imports_of_one_file_at_once_record_it_once(own_database, clock, app_settings):
    """The second upload waits for the first (the site's row lock), then finds the
    activities and records nothing twice, instead of failing on the unique keys."""
    own_engine = own_database.engine
    with Session(own_engine) as setup:
        site_id = make_site(setup, NAGANO_CITY, with_intro=False).id
        setup.commit()
    data = xlsx_bytes(past_sample())

    def import_in(session):
        service = ActivityImportService(session, clock=clock, settings=app_settings)
        return service.import_file(Actor.system("test"), session.get(Site, site_id),
                                   "sample.xlsx", io.BytesIO(data))

    first, second = second_behind_first(
        own_engine, import_in, import_in, what="import")

    assert (first.activities_created, first.pending_claims) == (5, 14)
    assert (second.activities_matched, second.already_recorded) == (5, 14)
    with Session(own_engine) as check:
        counted = table_counts(check)
    assert (counted["projects"], counted["claims"], counted["imports"]) == (5, 14, 2)



def test_console_script_valid_rows_only_imports_the_rest_and_exits_3(script_db, tmp_path):
    """The national sample as it is (four rows dated after the import): all or nothing
    refuses it whole; --valid-rows-only records the other ten rows."""
    ini, engine = script_db
    path = tmp_path / "records.xlsx"
    path.write_bytes(xlsx_bytes(sample_rows()))
    before = script_counts(engine)

    status, out, _err = run_script(ini, "--site", NAGANO_CITY, str(path))
    assert status == 1 and script_counts(engine) == before

    status, out, _err = run_script(ini, "--site", NAGANO_CITY, "--valid-rows-only", str(path))
    report = json.loads(out)
    assert status == 3 and report["imported"]
    assert (report["refused_rows"], report["valid_rows"]) == (4, 10)
    assert {error["row"] for error in report["errors"]} == {14, 15, 16, 17}
    after = script_counts(engine)
    assert after["attendance"] + after["claims"] == 10 and after["imports"] == 1
