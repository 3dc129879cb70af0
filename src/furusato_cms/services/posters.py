"""The session's check-in code as an image and as a printable A4 poster (受付用ポスター).

The QR code carries the check-in URL (``<base_url>/checkin/<code>``) so any phone
camera opens the check-in page. Error correction level M with a four-module quiet
zone, as phone cameras expect. The poster is drawn as vectors (each dark run of modules
a rectangle), so it prints sharp at any size; Japanese text uses the PDF's built-in
CID font ``HeiseiKakuGo-W5`` (no font file needed)."""
import io
import re

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from ..i18n import _
from .session_texts import when_text

ERROR_LEVEL = "m"
QUIET_ZONE = 4
SVG_SCALE = 8
PNG_SCALE = 10
FONT = "HeiseiKakuGo-W5"
MARGIN = 20 * mm
QR_SIZE = 130 * mm
WRAP_TOKENS = re.compile(r"[\x21-\x7e]+ ?| |[^\x21-\x7e ]")
"""A Latin word with its following space, a space, or one other character."""
INSTRUCTION = _("Scan this code with your smartphone camera")
CHECKIN_TITLE = _("Attendance check-in")


def qr_code(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR_LEVEL, micro=False)


def qr_svg(url: str) -> bytes:
    buffer = io.BytesIO()
    qr_code(url).save(buffer, kind="svg", scale=SVG_SCALE, border=QUIET_ZONE,
                      xmldecl=True, svgns=True, title=url)
    return buffer.getvalue()


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    qr_code(url).save(buffer, kind="png", scale=PNG_SCALE, border=QUIET_ZONE)
    return buffer.getvalue()


def qr_data_uri(text: str, scale=6) -> str:
    """An inline SVG image (``data:`` URI, allowed by the CSP) of any short text."""
    return qr_code(text).svg_data_uri(scale=scale, border=QUIET_ZONE)


def _font():
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def poster_pdf(session, url: str, *, translate, locale: str) -> bytes:
    """One A4 page: the site, the project title, date and time, place, the code and
    how to use it."""
    project = session.project
    font = _font()
    width, height = A4
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(project.title)
    pdf.setSubject(translate(CHECKIN_TITLE))
    pdf.setAuthor(project.site.name)

    y = height - MARGIN
    y = _lines(pdf, font, 14, project.site.name, y, width)
    y = _lines(pdf, font, *_fitted(project.title, font, width, (26, 20, 16), 3),
               y - 4 * mm, width)
    y = _lines(pdf, font, 16, when_text(session, locale), y - 4 * mm, width)
    if session.place:
        y = _lines(pdf, font, *_fitted(session.place, font, width, (16, 12), 2), y, width)

    qr_bottom = max(y - 8 * mm - QR_SIZE, MARGIN + 30 * mm)
    _draw_qr(pdf, qr_code(url), (width - QR_SIZE) / 2, qr_bottom, QR_SIZE)

    y = _lines(pdf, font, 20, translate(INSTRUCTION), qr_bottom - 8 * mm, width)
    pdf.setFont("Helvetica", 9)
    pdf.drawCentredString(width / 2, MARGIN, url)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _wrapped(text, font, size, page_width) -> list[str]:
    """Lines that fit the page: Japanese breaks between any two characters, Latin words
    stay whole unless a single word is wider than the line."""
    width = page_width - 2 * MARGIN
    lines, line = [], ""
    for piece in _pieces(text, font, size, width):
        if line and stringWidth(line + piece, font, size) > width:
            lines.append(line.rstrip())
            piece = piece.lstrip()
            line = ""
        line += piece
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _pieces(text, font, size, width):
    for token in WRAP_TOKENS.findall(" ".join(text.split())):
        if stringWidth(token, font, size) <= width:
            yield token
        else:
            yield from token


def _fitted(text, font, page_width, sizes, max_lines) -> tuple[int, str]:
    """The largest size at which ``text`` fits in ``max_lines``, so the code keeps its
    room; text longer even than that is cut with an ellipsis."""
    def fits(candidate, size):
        return len(_wrapped(candidate, font, size, page_width)) <= max_lines

    for size in sizes:
        if fits(text, size):
            return size, text
    size = sizes[-1]
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(text[:middle] + "…", size) else (low, middle - 1)
    return size, text[:low].rstrip() + "…"


def _lines(pdf, font, size, text, top, page_width) -> float:
    """Centred text wrapped to the page; returns the y below it."""
    pdf.setFont(font, size)
    leading = size * 1.4
    y = top - size
    for line in _wrapped(text, font, size, page_width):
        pdf.drawCentredString(page_width / 2, y, line)
        y -= leading
    return y + leading - size * 0.4


def _draw_qr(pdf, qr, left, bottom, size):
    """Each horizontal run of dark modules as one filled rectangle."""
    matrix = list(qr.matrix_iter(scale=1, border=QUIET_ZONE))
    module = size / len(matrix)
    pdf.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        y = bottom + size - (row_index + 1) * module
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            pdf.rect(left + start * module, y, (column - start) * module, module,
                     stroke=0, fill=1)
