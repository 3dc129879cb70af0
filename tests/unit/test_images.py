"""Image uploads: type by content, size and pixel limits, upright, narrowed, EXIF removed."""
import dataclasses
import hashlib
import io

import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from furusato_cms.models import AuditEntry
from furusato_cms.services import images as images_module
from furusato_cms.services.errors import InvalidInput
from furusato_cms.services.images import ImageService, markdown_snippet

from ..content_factories import actor_for, camera_exif, image_bytes
from ..factories import NAGANO_CITY, make_site, make_staff


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def editor(dbsession, site):
    return actor_for(make_staff(dbsession, site, "editor"))


@pytest.fixture
def service(dbsession, clock, app_settings):
    settings = dataclasses.replace(app_settings, image_max_width=100, upload_max_bytes=200_000)
    return ImageService(dbsession, clock=clock, settings=settings)


def opened(data):
    return PILImage.open(io.BytesIO(data))


def test_a_png_is_stored_with_its_facts(service, editor, site, dbsession):
    image = service.upload(editor, site, "map.png", image_bytes("PNG", (40, 30)), " 地図 ")
    assert (image.media_type, image.width, image.height, image.alt_text) == ("image/png", 40, 30, "地図")
    assert image.sha256 == hashlib.sha256(image.data).hexdigest()
    assert image.byte_size == len(image.data)
    assert opened(image.data).format == "PNG"
    assert dbsession.scalar(select(AuditEntry.action).where(AuditEntry.target_id == str(image.id))) == "image.upload"


def test_a_phone_jpeg_is_turned_upright_narrowed_and_loses_its_exif(service, editor, site):
    data = image_bytes("JPEG", (400, 200), exif=camera_exif(orientation=6))
    assert opened(data).getexif().get(0x8825) is not None
    image = service.upload(editor, site, "IMG_0001.JPG", data, "りんご畑")
    stored = opened(image.data)
    # Orientation 6 means "rotate 90°": 400x200 becomes 200x400, then narrowed to 100 wide.
    assert (stored.format, stored.size) == ("JPEG", (100, 200))
    assert (image.width, image.height) == (100, 200)
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info


def test_webp_and_gif_are_accepted(service, editor, site):
    webp = service.upload(editor, site, "a.webp", image_bytes("WEBP"), "a")
    gif = service.upload(editor, site, "a.gif", image_bytes("GIF"), "b")
    assert webp.media_type == "image/webp"
    assert gif.media_type == "image/png"


@pytest.mark.parametrize("data", [
    b"hello, this is only text",
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    image_bytes("PNG")[:60],
    image_bytes("BMP"),
    image_bytes("TIFF"),
], ids=["text", "svg", "truncated-png", "bmp", "tiff"])
def test_anything_but_the_four_formats_is_refused(service, editor, site, data):
    with pytest.raises(InvalidInput) as refused:
        service.upload(editor, site, "photo.png", data, "写真")
    assert refused.value.field == "upload"


def test_oversized_files_are_refused_before_decoding(service, editor, site, monkeypatch):
    def must_not_decode(*args, **kwargs):
        raise AssertionError("decoded an oversized upload")

    monkeypatch.setattr(PILImage, "open", must_not_decode)
    with pytest.raises(InvalidInput) as refused:
        service.upload(editor, site, "big.png", b"\x89PNG" + b"0" * 200_000, "大きい")
    assert refused.value.field == "upload" and "MB" in refused.value.message.interpolate()


def test_too_many_pixels_are_refused(service, editor, site, monkeypatch):
    monkeypatch.setattr(images_module, "MAX_PIXELS", 1000)
    with pytest.raises(InvalidInput) as refused:
        service.upload(editor, site, "bomb.png", image_bytes("PNG", (100, 100)), "爆弾")
    assert "pixels" in refused.value.message


def test_decompression_bombs_are_refused(service, editor, site, monkeypatch):
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(InvalidInput):
        service.upload(editor, site, "bomb.png", image_bytes("PNG", (20, 20)), "爆弾")


@pytest.mark.parametrize("alt", ["", "   ", "x" * 301])
def test_alt_text_is_required_and_bounded(service, editor, site, alt):
    with pytest.raises(InvalidInput) as refused:
        service.upload(editor, site, "a.png", image_bytes(), alt)
    assert refused.value.field == "alt_text"


def test_empty_upload_is_refused(service, editor, site):
    with pytest.raises(InvalidInput) as refused:
        service.upload(editor, site, "a.png", b"", "a")
    assert refused.value.field == "upload"


def test_markdown_snippet_escapes_brackets(service, editor, site):
    image = service.upload(editor, site, "a.png", image_bytes(), "地図 [拡大]")
    assert markdown_snippet(site.code, image) == (
        f"![地図 \\[拡大\\]](/s/{site.code}/images/{image.public_key})")


def test_listing_does_not_cross_sites(service, editor, site, dbsession):
    mine = service.upload(editor, site, "a.png", image_bytes(), "a")
    other = make_site(dbsession, "202029")
    service.upload(editor, other, "b.png", image_bytes(), "b")
    assert [i.id for i in service.for_site(site)] == [mine.id]
