"""Printed matter with a QR code: the session's check-in poster (受付用ポスター) and the
site's registration poster, flyer and web banner (制度周知用ポスター・バナー).

The check-in QR code carries the check-in URL (``<base_url>/checkin/<code>``), the
registration one the site's registration page, so any phone camera opens it. Error
correction level M with a four-module quiet zone, as phone cameras expect. Posters are
drawn as vectors (each dark run of modules a rectangle), so they print sharp at any size.

Print shops refuse PDFs whose fonts are not embedded, so the text uses Noto Sans CJK
(Debian's ``fonts-noto-cjk``), embedded as a subset of the characters on the page.
ReportLab embeds only TrueType outlines and Noto CJK has CFF ones, so the subset is
converted to quadratic outlines first (fontTools); a machine without the font falls
back to the PDF's built-in CID font ``HeiseiKakuGo-W5``, which viewers substitute.

ReportLab is imported in the functions that draw: the web process serves pages far more
often than posters, and loading it at start-up cost every process about 2 MB."""
import functools
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import segno

from ..i18n import _
from .session_texts import when_text

ERROR_LEVEL = "m"
QUIET_ZONE = 4
SVG_SCALE = 8
PNG_SCALE = 10
FALLBACK_FONT = "HeiseiKakuGo-W5"
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"))
FONT_FILES = {"regular": "NotoSansCJK-Regular.ttc", "bold": "NotoSansCJK-Bold.ttc"}
JAPANESE_FACE = 0
"""Index of ``Noto Sans CJK JP`` in the collection (Japanese glyph forms)."""
mm = 72.0 / 2.54 * 0.1
A4 = (210 * mm, 297 * mm)
A3 = (297 * mm, 420 * mm)
"""ReportLab's ``units.mm`` and ``pagesizes.A4``/``A3`` (points), computed as it does."""
PAGE_SIZES = {"a4": A4, "a3": A3}
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


def font_file(weight="regular") -> Path | None:
    """The Noto Sans CJK collection of ``weight`` on this machine, if installed."""
    for folder in FONT_DIRS:
        candidate = folder / FONT_FILES[weight]
        if candidate.exists():
            return candidate
    return None


def _font(text: str, weight="regular") -> str:
    """A registered font name that draws every character of ``text``: an embedded
    subset of Noto Sans CJK, or the non-embedded CID font when Noto is missing."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    path = font_file(weight)
    if path is None:
        if FALLBACK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
        return FALLBACK_FONT
    return _subset_font(str(path), "".join(sorted(set(text) | set(" …-:./"))))


@functools.lru_cache(maxsize=64)
def _subset_font(path: str, characters: str) -> str:
    """Register (once per process and character set) a TrueType subset of ``path``."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    digest = hashlib.sha1(f"{path}\0{characters}".encode()).hexdigest()[:12]
    name = f"NotoSansCJKjp-{digest}"
    if name not in pdfmetrics.getRegisteredFontNames():
        data = _quadratic_subset(path, characters, name)
        pdfmetrics.registerFont(TTFont(name, io.BytesIO(data)))
    return name


def _quadratic_subset(path: str, characters: str, postscript_name: str) -> bytes:
    """The glyphs of ``characters`` from the collection's Japanese face as a TrueType
    (glyf) font: CFF curves turned into quadratic ones within 1 unit. Each subset gets
    its own PostScript name, since ReportLab shares one face per name."""
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont as FontFile, newTable

    font = FontFile(path, fontNumber=JAPANESE_FACE, lazy=True)
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = {}
    for name in glyf.glyphOrder:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                  "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                  "maxComponentElements", "maxPoints", "maxContours", "maxCompositePoints",
                  "maxCompositeContours", "maxComponentDepth"):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    font["head"].indexToLocFormat = 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"
    for record in font["name"].names:
        if record.nameID == 6:
            record.string = postscript_name
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def poster_pdf(session, url: str, *, translate, locale: str) -> bytes:
    """One A4 page: the site, the project title, date and time, place, the code and
    how to use it."""
    from reportlab.pdfgen import canvas

    project = session.project
    texts = [project.site.name, project.title, when_text(session, locale), session.place,
             translate(INSTRUCTION), url]
    font = _font("".join(texts))
    width, height = A4
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=font)
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
    pdf.setFont(font, 9)
    pdf.drawCentredString(width / 2, MARGIN, url)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# -- the site's registration poster, flyer and banner (制度周知) ------------------------

REGISTRATION_TITLE = _("Become a furusato resident of ${site}")
REGISTRATION_WHAT = _("Furusato resident registration (ふるさと住民登録) is the national system "
                      "for keeping a lasting connection with a place where you do not live.")
REGISTRATION_BASIC = _("Basic registration: anyone, free, in a few minutes on your "
                       "smartphone. You receive the local news and can take part in "
                       "activities.")
REGISTRATION_PREMIUM = _("Premium registration: verify your identity with your My Number "
                         "Card and take part in ${count} or more designated activities a "
                         "year; local support measures open up to you.")
REGISTRATION_FREE = _("Registration is free.")
REGISTRATION_SCAN = _("Scan the code with your smartphone camera to register")
BANNER_LINE = _("Register as a furusato resident: free, on your smartphone")
BANNER_WIDTH, BANNER_HEIGHT = 600, 200
"""The banner in CSS pixels (3:1, fits a sidebar or a news page's width)."""


@dataclass(frozen=True)
class RegistrationTexts:
    """The words of the registration poster and banner, translated once."""

    title: str
    what: str
    basic: str
    premium: str
    free: str
    scan: str
    banner: str

    @classmethod
    def of(cls, site, translate) -> "RegistrationTexts":
        def t(term, **mapping):
            return translate(_(term, mapping=mapping) if mapping else term)

        return cls(title=t(REGISTRATION_TITLE, site=site.name), what=t(REGISTRATION_WHAT),
                   basic=t(REGISTRATION_BASIC),
                   premium=t(REGISTRATION_PREMIUM, count=site.premium_min_activities),
                   free=t(REGISTRATION_FREE), scan=t(REGISTRATION_SCAN),
                   banner=t(BANNER_LINE))


def registration_poster_pdf(site, url: str, *, translate, size="a4") -> bytes:
    """One page (A4 poster/flyer, or A3 by ``size``): what the registration is, basic
    and premium in a sentence each, free, and the code to the site's registration."""
    from reportlab.pdfgen import canvas

    texts = RegistrationTexts.of(site, translate)
    pagesize = PAGE_SIZES[size]
    width, height = pagesize
    scale = width / A4[0]
    font = _font("".join([texts.title, texts.what, texts.basic, texts.premium, texts.free,
                          texts.scan, site.name, url]))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=pagesize, pageCompression=1, initialFontName=font)
    pdf.setTitle(texts.title)
    pdf.setSubject(texts.what)
    pdf.setAuthor(site.name)

    margin = MARGIN * scale
    y = height - margin
    y = _lines(pdf, font, *_fitted(texts.title, font, width, (30 * scale, 24 * scale), 2),
               y, width, margin=margin)
    y = _lines(pdf, font, 13 * scale, texts.what, y - 6 * mm * scale, width, margin=margin)
    for paragraph in (texts.basic, texts.premium):
        y = _lines(pdf, font, 13 * scale, paragraph, y - 4 * mm * scale, width, margin=margin)
    y = _lines(pdf, font, 20 * scale, texts.free, y - 5 * mm * scale, width, margin=margin)

    qr_size = min(100 * mm * scale, y - margin - 30 * mm * scale)
    qr_bottom = y - 6 * mm * scale - qr_size
    _draw_qr(pdf, qr_code(url), (width - qr_size) / 2, qr_bottom, qr_size)
    _lines(pdf, font, 16 * scale, texts.scan, qr_bottom - 5 * mm * scale, width, margin=margin)
    pdf.setFont(font, 10 * scale)
    pdf.drawCentredString(width / 2, margin, url)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def registration_banner_svg(site, url: str, *, translate) -> bytes:
    """A 600×200 banner for the site's own web page: the site, one line, the code.
    Text stays text (the page's own fonts draw it, screen readers read it)."""
    texts = RegistrationTexts.of(site, translate)
    qr = qr_code(url)
    side = BANNER_HEIGHT - 24
    matrix = list(qr.matrix_iter(scale=1, border=QUIET_ZONE))
    module = side / len(matrix)
    runs = "".join(
        f"M{BANNER_WIDTH - side - 12 + start * module:.2f} {12 + row * module:.2f}"
        f"h{length * module:.2f}v{module:.2f}h-{length * module:.2f}z"
        for row, start, length in _dark_runs(matrix))
    lines = _banner_lines(texts.banner)
    text_rows = "".join(
        f'<text x="24" y="{118 + index * 26}" font-size="20">{escape(line)}</text>'
        for index, line in enumerate(lines))
    svg = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{BANNER_WIDTH}" '
        f'height="{BANNER_HEIGHT}" viewBox="0 0 {BANNER_WIDTH} {BANNER_HEIGHT}" role="img" '
        'aria-labelledby="title">'
        f'<title id="title">{escape(texts.title)} — {escape(url)}</title>'
        f'<rect width="{BANNER_WIDTH}" height="{BANNER_HEIGHT}" fill="#ffffff" '
        'stroke="#1a5c35" stroke-width="4"/>'
        '<g font-family="\'Noto Sans CJK JP\', \'Noto Sans JP\', sans-serif" fill="#1a1a1a">'
        f'<text x="24" y="64" font-size="30" font-weight="bold" fill="#1a5c35">'
        f'{escape(site.name)}</text>{text_rows}</g>'
        f'<path fill="#000000" d="{runs}"/></svg>')
    return svg.encode("utf-8")


def registration_banner_png(site, url: str, *, translate, scale=2) -> bytes:
    """The same banner as a PNG at ``scale`` × its CSS size (sharp on phone screens)."""
    from PIL import Image, ImageDraw, ImageFont

    texts = RegistrationTexts.of(site, translate)
    width, height = BANNER_WIDTH * scale, BANNER_HEIGHT * scale
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline="#1a5c35", width=4 * scale)

    def face(weight, size):
        path = font_file(weight)
        if path is None:
            return ImageFont.load_default(size)
        return ImageFont.truetype(str(path), size, index=JAPANESE_FACE)

    draw.text((24 * scale, 34 * scale), site.name, fill="#1a5c35", font=face("bold", 30 * scale))
    for index, line in enumerate(_banner_lines(texts.banner)):
        draw.text((24 * scale, (98 + index * 26) * scale), line, fill="#1a1a1a",
                  font=face("regular", 20 * scale))
    matrix = list(qr_code(url).matrix_iter(scale=1, border=QUIET_ZONE))
    left, top, module = banner_qr_box(url, scale)
    for row, start, length in _dark_runs(matrix):
        draw.rectangle((left + start * module, top + row * module,
                        left + (start + length) * module - 1, top + (row + 1) * module - 1),
                       fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def banner_qr_box(url: str, scale=2) -> tuple[int, int, int]:
    """Where the PNG banner draws the code of ``url``: (left, top, module size), pixels."""
    count = len(list(qr_code(url).matrix_iter(scale=1, border=QUIET_ZONE)))
    module = (BANNER_HEIGHT - 24) * scale // count
    side = module * count
    return BANNER_WIDTH * scale - side - 12 * scale, (BANNER_HEIGHT * scale - side) // 2, module


def _banner_lines(text) -> list[str]:
    """The banner's sentence in at most two lines left of the code."""
    limit = 17
    words = text.split(" ") if text.isascii() else None
    if words:
        lines, line = [], ""
        for word in words:
            if line and len(line) + 1 + len(word) > limit * 2:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        return (lines + [line])[:2]
    parts = re.split(r"(?<=[：:、，,])", text, maxsplit=1)
    return [part.strip() for part in parts if part.strip()][:2]


def _dark_runs(matrix):
    """(row, first column, length) of each horizontal run of dark modules."""
    for row_index, row in enumerate(matrix):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            yield row_index, start, column - start


def _wrapped(text, font, size, page_width, margin=MARGIN) -> list[str]:
    """Lines that fit the page: Japanese breaks between any two characters, Latin words
    stay whole unless a single word is wider than the line."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    width = page_width - 2 * margin
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
    from reportlab.pdfbase.pdfmetrics import stringWidth

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


def _lines(pdf, font, size, text, top, page_width, margin=MARGIN) -> float:
    """Centred text wrapped to the page; returns the y below it."""
    pdf.setFont(font, size)
    leading = size * 1.4
    y = top - size
    for line in _wrapped(text, font, size, page_width, margin):
        pdf.drawCentredString(page_width / 2, y, line)
        y -= leading
    return y + leading - size * 0.4


def _draw_qr(pdf, qr, left, bottom, size):
    """Each horizontal run of dark modules as one filled rectangle."""
    matrix = list(qr.matrix_iter(scale=1, border=QUIET_ZONE))
    module = size / len(matrix)
    pdf.setFillColorRGB(0, 0, 0)
    for row_index, start, length in _dark_runs(matrix):
        y = bottom + size - (row_index + 1) * module
        pdf.rect(left + start * module, y, length * module, module, stroke=0, fill=1)
