"""The refused rows of an activity-record file handed back to fix (要修正の行): a copy of
the national template holding only those rows, as they were, with one more column saying
what is wrong — so the municipality corrects them in the file it knows and imports it
again (the import records nothing twice).

openpyxl is imported where a workbook is written: the web process's memory need not hold
it (and Pillow, which it loads) from start-up for every page."""
import csv
import io
import os
from collections import defaultdict

from ..i18n import _
from .activity_import import COLUMNS, MAX_REPORTED_ERRORS, heading_errors
from .tabular_files import csv_encoding

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv"
HEADING_ROWS_AT_MOST = 3


def _problems(report, translate) -> dict:
    """Row number -> the text of its problems ("J: …; H: …")."""
    problems = defaultdict(list)
    for error in sorted(report.errors, key=lambda e: (e.row, e.column)):
        problems[error.row].append(f"{error.column}: {translate(error.message)}")
    return {row: "; ".join(texts) for row, texts in problems.items()}


def corrected_rows(rows, report, translate):
    """The heading rows (the error column named on the column names' row), then each
    refused row with its original row number and problems in the added column."""
    problems = _problems(report, translate)
    unlisted = translate(_("More than ${count} problems: check this row again after fixing "
                           "the others.", mapping={"count": MAX_REPORTED_ERRORS}))
    in_headings = True
    for number, values in rows:
        values = list(values) + [None] * (len(COLUMNS) - len(values))
        if in_headings:
            is_names = not heading_errors(number, values)
            yield values + [translate(_("Problems to fix")) if is_names else None]
            in_headings = not is_names and number < HEADING_ROWS_AT_MOST
        elif number in report.refused:
            text = problems.get(number, unlisted)
            yield values + [translate(_("Row ${row}: ${problems}",
                                        mapping={"row": number, "problems": text}))]


def corrections_file(filename, kind, rows, report, content, translate) -> tuple:
    """``(filename, content type, bytes)`` of the rows to fix, in the upload's own form:
    .xlsx for a workbook, CSV in the upload's encoding for CSV."""
    stem, extension = os.path.splitext(filename)
    name = f"{stem}_{translate(_('to fix'))}{extension}"
    lines = corrected_rows(rows, report, translate)
    if kind == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        for values in lines:
            sheet.append(values)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return name, XLSX_TYPE, buffer.getvalue()
    encoding = csv_encoding(content[:1 << 16])
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    for values in lines:
        writer.writerow(["" if value is None else value for value in values])
    return name, CSV_TYPE, text.getvalue().encode(encoding, errors="replace")
