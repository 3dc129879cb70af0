"""Opening uploaded .xlsx workbooks without letting them unpack into memory (zip bombs).

An .xlsx file is a zip archive of XML parts. A 1 MB archive can unpack to gigabytes, and
its directory (the sizes it declares) can lie. So before openpyxl parses anything:

- the directory is checked: only stored or deflated parts, the declared total within
  ``unpacked_max`` bytes and within ``ratio_max`` times the packed size, and no part
  packed larger than deflate could ever make it (a size that is a lie);
- every part is then read through :class:`BoundedPart`, which refuses more bytes than the
  part declared (zipfile itself stops there and checks the CRC, so a directory that lies
  ends as a damaged file; the reader does not rely on it), a run of text between two tags
  longer than ``text_max`` bytes (one cell cannot hold more than Excel allows, whatever
  the parser would make of it) and a DOCTYPE (entity tricks; Excel never writes one).

Refusals are :class:`WorkbookRefused` with a message in the person's language.
"""
import zipfile
from dataclasses import dataclass

from .i18n import _

RATIO_FLOOR = 16 * 1024 * 1024
"""Archives unpacking to less than this are never refused for their ratio: they cannot
hurt, and tiny parts of a real workbook compress very well."""
_CHUNK = 1 << 16
_MARKUP_SUFFIXES = (".xml", ".rels")


@dataclass(frozen=True)
class UnpackLimits:
    unpacked_max: int
    """Bytes all the parts together may unpack to."""
    ratio_max: int
    """Unpacked size over packed size, above RATIO_FLOOR."""
    text_max: int
    """Longest run of bytes between two ``<`` in an XML part: one cell's text at most."""

    @classmethod
    def from_settings(cls, settings) -> "UnpackLimits":
        return cls(settings.workbook_unpacked_max_bytes, settings.workbook_ratio_max,
                   settings.workbook_text_max_bytes)


class WorkbookRefused(Exception):
    """The archive may not be parsed; ``message`` says why (a TranslationString)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _megabytes(size: int) -> int:
    return max(1, round(size / 1024 / 1024))


def _too_large(limits):
    return WorkbookRefused(_(
        "The workbook unpacks to more than ${mb} MB. Remove unused sheets, pictures and "
        "formatting, or split the records into several files.",
        mapping={"mb": _megabytes(limits.unpacked_max)}))


def _misleading():
    return WorkbookRefused(_(
        "The workbook's table of contents does not match its contents, so it is not read. "
        "Open it in Excel and save it again as .xlsx."))


def check_directory(archive: zipfile.ZipFile, limits: UnpackLimits) -> None:
    """Refuse the archive from its directory alone, before any part is unpacked."""
    unpacked = packed = 0
    for info in archive.infolist():
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise WorkbookRefused(_(
                "The workbook is packed in a way Excel does not use. Open it in Excel and "
                "save it again as .xlsx."))
        if info.compress_size > info.file_size + info.file_size // 100 + 1024:
            raise _misleading()
        unpacked += info.file_size
        packed += info.compress_size
    if unpacked > limits.unpacked_max:
        raise _too_large(limits)
    if unpacked > RATIO_FLOOR and unpacked > limits.ratio_max * max(packed, 1):
        raise WorkbookRefused(_(
            "The workbook unpacks to more than ${ratio} times its size, which real workbooks "
            "do not. Open it in Excel and save it again as .xlsx.",
            mapping={"ratio": limits.ratio_max}))


class BoundedPart:
    """One part, read at most to its declared size; see the module's docstring."""

    def __init__(self, inner, info: zipfile.ZipInfo, limits: UnpackLimits):
        self.inner = inner
        self.info = info
        self.limits = limits
        self.read_so_far = 0
        self.markup = info.filename.lower().endswith(_MARKUP_SUFFIXES)
        self.run = 0
        self.tail = b""

    def readable(self):
        return True

    def read(self, size=-1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(_CHUNK), b""))
        data = self.inner.read(size)
        self.read_so_far += len(data)
        if self.read_so_far > min(self.info.file_size, self.limits.unpacked_max):
            raise _misleading()
        if self.markup:
            self._scan(data)
        return data

    def _scan(self, data: bytes):
        text_max = self.limits.text_max
        first = data.find(b"<")
        if first < 0:
            self.run += len(data)
        else:
            self.run += first
            if self.run > text_max or max(map(len, data.split(b"<"))) > text_max:
                raise _text_too_long(self.limits)
            self.run = len(data) - data.rfind(b"<") - 1
        if self.run > text_max:
            raise _text_too_long(self.limits)
        if b"<!DOCTYPE" in self.tail + data:
            raise WorkbookRefused(_(
                "The workbook contains a document type declaration, which Excel never "
                "writes, so it is not read. Open it in Excel and save it again as .xlsx."))
        self.tail = data[-8:]

    def close(self):
        self.inner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _text_too_long(limits):
    return WorkbookRefused(_(
        "The workbook holds a cell with more than ${kb} KB of text, more than Excel allows "
        "in a cell, so it is not read.", mapping={"kb": limits.text_max // 1024}))


class BoundedZipFile(zipfile.ZipFile):
    """A zip archive whose directory was checked and whose parts are read bounded."""

    def __init__(self, file, limits: UnpackLimits):
        super().__init__(file, "r")
        check_directory(self, limits)
        self._limits = limits

    def open(self, name, mode="r", pwd=None, **kw):
        inner = super().open(name, mode, pwd=pwd, **kw)
        if mode != "r":
            return inner
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        return BoundedPart(inner, info, self._limits)


def load_workbook(stream, limits: UnpackLimits):
    """openpyxl's read-only, values-only workbook over a bounded archive. Raises
    WorkbookRefused, or what openpyxl raises for a damaged file."""
    from openpyxl.reader.excel import ExcelReader

    archive = BoundedZipFile(stream, limits)
    reader = ExcelReader(stream, read_only=True, data_only=True)
    reader.archive.close()
    reader.archive = archive
    reader.read()
    return reader.wb
