"""The site's registration poster (A4/A3 PDF with embedded fonts) and web banner (PNG/SVG):
public for public sites, hidden (404) for a site in preparation except to its staff, and
their QR code is exactly the site's registration address."""
import io
import re

import pypdf
import pytest
import segno
from PIL import Image

from furusato_cms.services import posters

from ..factories import make_site, make_staff, sign_in

REGISTER_URL = "http://localhost/s/202011/register"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, "202011", name="長野市")


def modules(text: str, border=0) -> list[list[bool]]:
    return [[bool(v) for v in row] for row in segno.make(text, error="m", micro=False)
            .matrix_iter(scale=1, border=border)]


def pdf_qr_grid(page) -> list[list[bool]]:
    """The QR code drawn on the page, read back from its filled rectangles (the poster
    draws each dark run of modules as one ``re``)."""
    content = page.get_contents().get_data().decode("latin-1")
    rects = [tuple(float(v) for v in match) for match in re.findall(
        r"([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) re f", content)]
    module = min(h for _x, _y, _w, h in rects)
    left = min(x for x, *_ in rects)
    top = max(y + h for _x, y, _w, h in rects)
    size = round((max(x + w for x, _y, w, _h in rects) - left) / module)
    grid = [[False] * size for _ in range(size)]
    for x, y, w, h in rects:
        row = round((top - y - h) / module)
        for column in range(round((x - left) / module), round((x + w - left) / module)):
            grid[row][column] = True
    return grid


def fonts_of(page) -> list:
    fonts = page["/Resources"]["/Font"]
    return [fonts[key].get_object() for key in fonts]


def embedded(font) -> bool:
    if "/DescendantFonts" in font:
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    descriptor = descriptor.get_object() if descriptor is not None else {}
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_the_a4_poster_explains_registration_with_embedded_fonts_and_the_code(testapp, site):
    response = testapp.get("/s/202011/poster.pdf")
    assert response.content_type == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.body))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = "".join(page.extract_text().split())
    for words in ("長野市", "ふるさと住民登録", "ベーシック登録", "プレミアム登録", "無料",
                  "スマートフォン", REGISTER_URL):
        assert words in text
    assert fonts_of(page) and all(embedded(font) for font in fonts_of(page))
    assert pdf_qr_grid(page) == modules(REGISTER_URL)


def test_a3_by_a_parameter_and_an_unknown_size_refused(testapp, site):
    reader = pypdf.PdfReader(io.BytesIO(testapp.get("/s/202011/poster.pdf?size=a3").body))
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (842, 1191)
    assert pdf_qr_grid(page) == modules(REGISTER_URL)
    assert "用紙" in testapp.get("/s/202011/poster.pdf?size=b5", status=400).text


def test_the_png_banner_carries_exactly_the_registration_address(testapp, site):
    response = testapp.get("/s/202011/banner.png")
    assert response.content_type == "image/png"
    image = Image.open(io.BytesIO(response.body)).convert("L")
    assert image.size == (posters.BANNER_WIDTH * 2, posters.BANNER_HEIGHT * 2)
    left, top, module = posters.banner_qr_box(REGISTER_URL)
    expected = modules(REGISTER_URL, border=posters.QUIET_ZONE)
    grid = [[image.getpixel((left + x * module + module // 2, top + y * module + module // 2))
             < 128 for x in range(len(expected))] for y in range(len(expected))]
    assert grid == expected


def test_the_svg_banner_names_the_site_and_the_address(testapp, site):
    response = testapp.get("/s/202011/banner.svg")
    assert response.content_type == "image/svg+xml"
    assert "長野市" in response.text and REGISTER_URL in response.text
    assert "ふるさと住民" in response.text
    assert response.cache_control.public


def test_a_site_in_preparation_shows_them_only_to_its_staff(
        testapp, dbsession, clock, app_settings, site):
    site.preparing = True
    dbsession.flush()
    for name in ("poster.pdf", "banner.png", "banner.svg"):
        testapp.get(f"/s/202011/{name}", status=404)
    staff = make_staff(dbsession, site, "editor")
    sign_in(testapp, dbsession, staff, clock, app_settings)
    response = testapp.get("/s/202011/banner.svg")
    assert response.status_int == 200 and "no-store" in response.headers["Cache-Control"]
