"""Hostile workbooks for the zip-bomb tests: the template workbook with one part that
unpacks to far more than the archive's size, written with zipfile from a generator of
repeated bytes (deflate), so building a 1 GB part never holds it in memory."""
import io
import struct
import zipfile

from . import past_sample, xlsx_bytes

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _repeated(byte: bytes, size: int, chunk: int = 1 << 20):
    block = byte * chunk
    while size > 0:
        yield block[:size]
        size -= chunk


def _sheet_parts(template: bytes, text_size: int, filler: bytes):
    """The template's sheet with one more row whose only cell holds ``text_size`` bytes."""
    head, tail = template.split(b"</sheetData>")
    yield head + b'<row r="40"><c r="B40" t="inlineStr"><is><t>'
    yield from _repeated(filler, text_size)
    yield b"</t></is></c></row></sheetData>" + tail


def _strings_parts(text_size: int, filler: bytes):
    yield (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" count="1" '
           'uniqueCount="1"><si><t>').encode()
    yield from _repeated(filler, text_size)
    yield b"</t></si></sst>"


def bomb_xlsx(path, *, text_size: int, part: str = SHEET, filler: bytes = b"A",
              doctype: bool = False, compression=zipfile.ZIP_DEFLATED):
    """Write to ``path`` the sample workbook whose ``part`` (the sheet or a shared-strings
    table) holds one cell of ``text_size`` bytes; returns the archive's size."""
    template = zipfile.ZipFile(io.BytesIO(xlsx_bytes(past_sample())))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in template.infolist():
            data = template.read(info.filename)
            if info.filename == "[Content_Types].xml" and part == STRINGS:
                data = data.replace(b"</Types>", (
                    f'<Override PartName="/{STRINGS}" ContentType="{_SST_TYPE}"/></Types>'
                ).encode())
            if info.filename == "xl/_rels/workbook.xml.rels" and part == STRINGS:
                data = data.replace(b"</Relationships>", (
                    f'<Relationship Id="rIdBomb" Type="{_SST_REL}" Target="sharedStrings.xml"/>'
                    "</Relationships>").encode())
            if info.filename == part:
                continue
            archive.writestr(info.filename, data)
        pieces = (_sheet_parts(template.read(SHEET), text_size, filler) if part == SHEET
                  else _strings_parts(text_size, filler))
        if doctype:
            pieces = _with_doctype(pieces)
        info = zipfile.ZipInfo(part)
        info.compress_type = compression
        with archive.open(info, "w", force_zip64=text_size > 1 << 30) as out:
            for piece in pieces:
                out.write(piece)
    return path.stat().st_size


def _with_doctype(pieces):
    first = next(pieces)
    yield b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + first
    yield from pieces


def declare_size(path, part: str, size: int):
    """Make the central directory lie: ``part`` says it unpacks to ``size`` bytes."""
    data = bytearray(path.read_bytes())
    name = part.encode()
    at = data.rfind(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + length]) == name:
            struct.pack_into("<I", data, at + 24, size)
            path.write_bytes(bytes(data))
            return
        at = data.rfind(b"PK\x01\x02", 0, at)
    raise LookupError(part)
