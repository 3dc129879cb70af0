"""The check-in code as SVG and PNG (carrying exactly the check-in URL) and the A4 poster."""
import io

import pypdf
import pytest
import segno
from PIL import Image

from furusato_cms.services import posters
from furusato_cms.services.attendance import AttendanceService

from ..attendance_factories import make_checkin_world
from ..conftest import NOW

URL = "http://localhost/checkin/12.3.AbCdEfGhIjKlMnOpQrStUv"


def modules_of_png(data: bytes) -> list[list[bool]]:
    """Read the PNG back into its module grid (dark = True), sampling each module's centre."""
    image = Image.open(io.BytesIO(data)).convert("L")
    size = image.width // posters.PNG_SCALE
    half = posters.PNG_SCALE // 2
    return [[image.getpixel((x * posters.PNG_SCALE + half, y * posters.PNG_SCALE + half)) < 128
             for x in range(size)] for y in range(size)]


def modules_of(text: str) -> list[list[bool]]:
    return [[bool(v) for v in row] for row in segno.make(text, error="m", micro=False)
            .matrix_iter(scale=1, border=posters.QUIET_ZONE)]


def test_png_encodes_exactly_the_url():
    data = posters.qr_png(URL)
    assert data.startswith(b"\x89PNG")
    grid = modules_of_png(data)
    assert grid == modules_of(URL)
    assert grid != modules_of(URL[:-1] + "w")


def test_svg_encodes_exactly_the_url():
    data = posters.qr_svg(URL)
    assert data.startswith(b"<?xml") and b"<svg" in data
    assert f"<title>{URL}</title>".encode() in data
    assert data == posters.qr_svg(URL)
    assert data.replace(URL.encode(), b"") != posters.qr_svg(URL[:-1] + "w").replace(
        (URL[:-1] + "w").encode(), b"")
    assert posters.qr_code(URL).designator.endswith("-M")


def test_data_uri_is_an_inline_svg():
    assert posters.qr_data_uri("15.1764041400.abc").startswith("data:image/svg+xml")


def test_check_in_url_is_the_base_url_and_the_sessions_code(dbsession, clock, app_settings):
    world = make_checkin_world(dbsession, NOW)
    service = AttendanceService(dbsession, clock=clock, settings=app_settings)
    url = service.checkin_url(world.session)
    assert url == f"http://localhost/checkin/{service.tokens.token_for(world.session)}"
    assert service.session_for_token(url.rsplit("/", 1)[1]) is world.session


# -- the PDF poster ------------------------------------------------------------------

def pdf_strings(data: bytes) -> list[str]:
    """Every line of text on the PDF's pages, as a reader extracts it (pypdf)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [line.strip() for page in reader.pages for line in page.extract_text().splitlines()]


@pytest.fixture
def world(dbsession):
    return make_checkin_world(dbsession, NOW, place="中央公民館 2階")


def poster(world, locale="ja"):
    return posters.poster_pdf(world.session, URL, translate=lambda term: term.interpolate(),
                              locale=locale)


def test_poster_is_a_pdf_with_title_time_place_and_url(world):
    data = poster(world)
    assert data.startswith(b"%PDF")
    strings = pdf_strings(data)
    assert "りんご収穫の手伝い" in strings
    assert "長野市" in strings
    assert "2026年11月25日(水) 12:00 – 15:00" in strings
    assert "中央公民館 2階" in strings
    assert URL in strings
    assert pypdf.PdfReader(io.BytesIO(data)).metadata.title == "りんご収穫の手伝い"


def test_poster_instruction_follows_the_translation(world):
    ja = posters.poster_pdf(world.session, URL, locale="ja",
                            translate=lambda term: "スマートフォンのカメラで読み取ってください"
                            if term == posters.INSTRUCTION else term.interpolate())
    assert "スマートフォンのカメラで読み取ってください" in pdf_strings(ja)
    assert "Scan this code with your smartphone camera" in pdf_strings(poster(world, "en"))


def test_a_very_long_title_is_fitted_into_three_lines(world):
    world.project.title = "雪" * 200
    strings = [s for s in pdf_strings(poster(world)) if s.startswith("雪")]
    assert len(strings) == 3 and strings[-1].endswith("…")


def test_the_session_poster_embeds_its_font(world):
    page = pypdf.PdfReader(io.BytesIO(poster(world))).pages[0]
    fonts = page["/Resources"]["/Font"]
    for key in fonts:
        font = fonts[key].get_object()
        assert "/FontFile2" in font["/FontDescriptor"].get_object(), font["/BaseFont"]


def test_without_noto_the_poster_falls_back_to_the_viewers_cid_font(world, monkeypatch):
    monkeypatch.setattr(posters, "FONT_DIRS", ())
    data = poster(world)
    assert b"HeiseiKakuGo-W5" in data
    assert "りんご収穫の手伝い" in pdf_strings(data)


def test_registration_texts_follow_the_sites_premium_setting(world):
    site = world.project.site
    site.premium_min_activities = 5
    texts = posters.RegistrationTexts.of(site, lambda term: term.interpolate())
    assert "5 or more designated activities" in texts.premium
    assert site.name in texts.title
    assert len(posters._banner_lines("ふるさと住民登録はこちら：無料、スマートフォンで")) == 2
