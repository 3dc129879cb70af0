"""Files in the national activity-record template for the import tests: the national sample
(a copy of ../shared/fixtures, kept here so a clean checkout tests on its own) and messy
variants of it, generated from its own rows so they stay in step with the template. Also
verified registrants to match against."""
import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
from sqlalchemy import func, select

from furusato_cms.models import (
    ActivitySession,
    Attendance,
    AttendanceImport,
    AuditEntry,
    ContentItem,
    IdentityVerification,
    PendingAttendanceClaim,
    Project,
)

from ..factories import T0
from ..registrant_factories import make_registrant

FIXTURES = Path(__file__).resolve().parent
SAMPLE_XLSX = FIXTURES / "activity_records_sample.xlsx"
SAMPLE_CSV = FIXTURES / "activity_records_sample.csv"

PAST_DATES = {"2027年1月2日": "2026年11月2日", "2027年3月21日": "2026年11月21日"}
"""The sample's last two activities (EVT-004, EVT-005) lie after the tests' NOW
(2026-11-25): moved into November 2026 so the whole sample can be imported."""


def sample_rows() -> list:
    """The sample workbook's rows 1–17 as lists of the cell values of A–K."""
    workbook = openpyxl.load_workbook(SAMPLE_XLSX)
    rows = [list(row) for row in workbook.worksheets[0].iter_rows(max_col=11, values_only=True)]
    workbook.close()
    return rows


def in_the_past(rows) -> list:
    """The rows with EVT-004 and EVT-005 moved before the tests' NOW."""
    def moved(value):
        for old, new in PAST_DATES.items():
            if isinstance(value, str) and value.startswith(old):
                return new + value[len(old):]
        return value
    return [[moved(v) if i in (2, 3) else v for i, v in enumerate(row)] for row in rows]


def past_sample() -> list:
    return in_the_past(sample_rows())


def xlsx_bytes(rows, *, merges=(), headings=True) -> bytes:
    """A workbook with ``rows`` from A1 and (unless ``headings`` is False) the group
    headings of row 1 merged as in the template; ``merges`` adds merged ranges such as
    "C4:C6" (values kept top-left only, as Excel does)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "担い手活動実績"
    for row in rows:
        sheet.append(list(row))
    for cells in (("A1:F1", "G1:K1") if headings else ()) + tuple(merges):
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, *, encoding="utf-8") -> bytes:
    """CSV as Excel writes it: from the column-name row (row 3 of the workbook) on."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    for row in rows[2:]:
        writer.writerow(["" if v is None else v for v in row])
    return text.getvalue().encode(encoding)


def set_cell(rows, row_number: int, letter: str, value) -> list:
    """A copy of ``rows`` with one cell changed (row numbers as in the spreadsheet)."""
    copy = [list(row) for row in rows]
    copy[row_number - 1]["ABCDEFGHIJK".index(letter)] = value
    return copy


def make_verified(dbsession, name, birthdate: date, postal_code: str, email=None):
    """A registrant whose identity is verified with this name, date of birth and postal
    code (seven digits, as the identity service stores it)."""
    email = email or f"{postal_code}-{birthdate.isoformat()}@example.jp"
    account = make_registrant(dbsession, email, name=name)
    dbsession.add(IdentityVerification(
        account_id=account.id, issuer="https://id.example.jp", subject=email, name=name,
        address="東京都新宿区", postal_code=postal_code, birthdate=birthdate, verified_at=T0,
    ))
    dbsession.flush()
    return account


COUNTED = {
    "projects": Project, "sessions": ActivitySession, "attendance": Attendance,
    "claims": PendingAttendanceClaim, "imports": AttendanceImport, "audit": AuditEntry,
    "content": ContentItem,
}


def table_counts(dbsession) -> dict:
    """Rows in every table an import may write: equal before and after means nothing
    was written."""
    dbsession.expire_all()
    return {name: dbsession.scalar(select(func.count()).select_from(model))
            for name, model in COUNTED.items()}
