"""Spreadsheets people upload (.xlsx or .csv, 表計算ファイル): reading them safely and
normalising what was typed into their cells.

Shared by every import (activity records, member lists): a file is refused as a whole
(``FileError``: type, size, damage, encoding) before any row is used, workbooks are
opened through ``workbooks.load_workbook`` (zip bombs refused) in read-only mode, and CSV
is decoded as UTF-8 or Shift_JIS while it streams."""
import codecs
import csv
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass


from ..i18n import _
from ..workbooks import UnpackLimits, WorkbookRefused, load_workbook
from .errors import InvalidInput


class FileError(InvalidInput):
    """The file as a whole cannot be used (type, size, damage); nothing was read."""

    def __init__(self, message):
        super().__init__(message, field="upload")



@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: object
    """A TranslationString: translated by whoever shows the report."""


def stored_message(message) -> dict:
    return {"msgid": str(message),
            "mapping": {k: str(v) for k, v in (message.mapping or {}).items()}}


def shown_message(error: dict, translate) -> str:
    """A stored error's message in the reader's language (the English text when it was
    stored before msgids were kept)."""
    if "msgid" not in error:
        return error["message"]
    return translate(_(error["msgid"], mapping=error["mapping"]))


def shown_report(report: dict, translate) -> dict:
    """A stored report with each error's message in ``translate``'s language."""
    return {**report, "errors": [{**error, "message": shown_message(error, translate)}
                                 for error in report.get("errors", [])]}


class CellError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message



# --- normalising cells ---------------------------------------------------------------

DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−ーｰ－"})
_SPACE = re.compile(r"\s+")


def clean_text(value) -> str:
    """A cell as one line of text: NFKC (full-width letters, digits and spaces become
    plain ones), runs of spaces made one, trimmed. Whole numbers lose Excel's ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(unicodedata.normalize("NFKC", str(value)).split())


def name_key(name: str) -> str:
    """A person's name as matching compares it: NFKC, without any spaces, so
    「佐藤 健一」「佐藤　健一」「佐藤健一」 are the same person."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", name or ""))


def postal_code(value) -> str:
    """Seven digits from ``NNN-NNNN`` or ``NNNNNNN`` (〒, full-width digits and other dashes
    accepted). A number cell lost its leading zero in Excel (北海道 0xx-xxxx), so it is
    padded back."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 0 < value < 10_000_000:
            return f"{int(value):07d}"
    text = clean_text(value).translate(DASHES).lstrip("〒").strip()
    match = re.fullmatch(r"(\d{3})\s*-?\s*(\d{4})", text)
    if not match:
        raise CellError(_("“${value}” is not a postal code. Write seven digits, like 124-7834.",
                          mapping={"value": clean_text(value)}))
    return match.group(1) + match.group(2)



def is_blank(values) -> bool:
    """A row with nothing typed in it (spaces count as nothing)."""
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


# --- reading the file ------------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""Old .xls workbooks, and .xlsx files protected with a password, are OLE files."""


def _workbook_failures() -> tuple:
    """What openpyxl raises on a damaged or foreign file (XML parse errors are
    SyntaxErrors). openpyxl is imported only when a workbook is read, so the web
    process does not hold it (and Pillow, which it loads) from start-up."""
    from openpyxl.utils.exceptions import InvalidFileException

    return (zipfile.BadZipFile, zlib.error, InvalidFileException, KeyError, IndexError,
            ValueError, TypeError, OSError, EOFError, SyntaxError)


def bounded_file(stream, limit: int | None):
    """The upload as a seekable binary file, refused when empty or over ``limit`` bytes.
    A stream that cannot seek is copied (at most ``limit`` + 1 bytes) first."""
    if not (hasattr(stream, "seekable") and stream.seekable()):
        copy = tempfile.SpooledTemporaryFile(max_size=1 << 20)
        remaining = None if limit is None else limit + 1
        while remaining is None or remaining > 0:
            chunk = stream.read(1 << 16 if remaining is None else min(1 << 16, remaining))
            if not chunk:
                break
            copy.write(chunk)
            remaining = None if remaining is None else remaining - len(chunk)
        stream = copy
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size == 0:
        raise FileError(_("The file is empty."))
    if limit is not None and size > limit:
        raise FileError(_("The file is larger than ${mb} MB. Split it into several files.",
                          mapping={"mb": round(limit / 1024 / 1024, 1)}))
    return stream


def file_sha256(stream) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def file_kind(filename: str, stream) -> str:
    """"xlsx" or "csv", decided by the content; the name must say the same."""
    head = stream.read(8)
    stream.seek(0)
    extension = os.path.splitext(filename.lower())[1]
    is_zip, is_ole = head.startswith(_ZIP_MAGIC), head.startswith(_OLE_MAGIC)
    if extension == ".xlsx" and is_zip:
        return "xlsx"
    if extension in (".xlsx", ".xls") and is_ole:
        raise FileError(_("This is an old-format (.xls) or password-protected workbook. "
                          "Save it in Excel as .xlsx without a password."))
    if extension == ".xlsx":
        raise FileError(_("This file is not an Excel workbook (.xlsx), although its name "
                          "ends in .xlsx."))
    if extension == ".csv" and (is_zip or is_ole):
        raise FileError(_("This file is a workbook, not CSV text. Upload it with the .xlsx "
                          "name Excel gives it."))
    if extension == ".csv":
        return "csv"
    raise FileError(_("Upload the template as an Excel workbook (.xlsx) or a CSV file (.csv)."))


def _xlsx_rows(stream, limits: UnpackLimits, width: int):
    """Every row of the first sheet as (row number, values of the first ``width``
    columns), streamed from an archive whose unpacked size is bounded (workbooks.py: zip
    bombs are refused)."""
    try:
        workbook = load_workbook(stream, limits)
    except WorkbookRefused as exc:
        raise FileError(exc.message) from None
    except _workbook_failures():
        raise FileError(_("The file could not be read as an Excel workbook (.xlsx). It may "
                          "be damaged.")) from None
    try:
        sheet = workbook.worksheets[0]
        # The stored dimensions may be wrong (some programs write A1:A1): read to the end.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_col=width, values_only=True)
        yield from enumerate(rows, start=1)
    except WorkbookRefused as exc:
        raise FileError(exc.message) from None
    except _workbook_failures():
        raise FileError(_("The file could not be read as an Excel workbook (.xlsx). It may "
                          "be damaged.")) from None
    finally:
        workbook.close()


def csv_encoding(head: bytes) -> str:
    """UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes) or Shift_JIS (cp932,
    Excel's plain "CSV" on Japanese Windows)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if b"\x00" not in head:
        for encoding in ("utf-8", "cp932"):
            try:
                codecs.getincrementaldecoder(encoding)().decode(head, final=False)
                return encoding
            except UnicodeDecodeError:
                continue
    raise FileError(_CSV_UNREADABLE)


_CSV_UNREADABLE = _("The CSV file could not be read. Save it from Excel as “CSV UTF-8” or "
                    "“CSV” (Shift_JIS).")


def _csv_rows(stream, width: int):
    """Every record as (row number, values of the first ``width`` columns), decoded as it
    is read."""
    encoding = csv_encoding(stream.read(1 << 16))
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        for number, values in enumerate(csv.reader(text), start=1):
            yield number, tuple(values[:width]) + ("",) * (width - len(values))
    except (UnicodeDecodeError, csv.Error):
        raise FileError(_CSV_UNREADABLE) from None
    finally:
        text.detach()


def upload_name(filename: str) -> str:
    """The name without a path (old browsers send C:\\…\\name.xlsx), bounded."""
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1][-300:]



def sheet_rows(filename: str, stream, *, limit: int | None, unpack: UnpackLimits, width: int):
    """``(kind, rows)``: the file's type ("xlsx" or "csv") and its rows as ``(row number,
    values of the first width columns)``, streamed. Type and size are checked at once."""
    stream = bounded_file(stream, limit)
    kind = file_kind(upload_name(filename), stream)
    rows = _xlsx_rows(stream, unpack, width) if kind == "xlsx" else _csv_rows(stream, width)
    return kind, rows
