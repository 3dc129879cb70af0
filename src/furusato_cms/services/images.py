"""Images uploaded by editors (画像アップロード), made safe and light for the web.

An upload is trusted for nothing: its type is read from its content by Pillow
(the file name and the browser's claim are ignored), only JPEG, PNG, WebP and GIF
are accepted, the byte size is checked before anything is decoded, and the pixel
count is checked from the header before the pixels are (decompression bombs).
Accepted images are turned upright (EXIF orientation), narrowed to the configured
width and re-encoded: re-encoding drops EXIF metadata, including the GPS position
a phone camera writes, so publishing a photo never publishes where it was taken.
Only the colour profile (ICC) is carried over, so colours stay right. GIFs are
stored as PNG of their first frame (moving images distract and can harm some
readers; WCAG 2.2.2).

Pillow is imported where images are decoded: only uploads need it, and the web process
does not carry it from start-up for every page.
"""
import hashlib
import io
import warnings

from sqlalchemy import select
from sqlalchemy.orm import load_only

from ..i18n import _
from ..models import Image
from .audit import AuditLog
from .errors import InvalidInput

MAX_PIXELS = 40_000_000
"""About 8000 x 5000: larger than any phone photo, far below what could exhaust memory."""
ALT_MAX = 300
ACCEPTED = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "PNG"}
"""Pillow's detected format -> the format stored."""
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def decode_errors() -> tuple:
    """What Pillow raises on a file that is no image, a damaged one or a bomb."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    return (UnidentifiedImageError, PILImage.DecompressionBombError,
            PILImage.DecompressionBombWarning, OSError, SyntaxError, ValueError, EOFError)


class ImageService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def upload(self, actor, site, filename, data: bytes, alt_text) -> Image:
        """Check, clean and store an image for ``site``; raise InvalidInput naming the rule."""
        alt_text = " ".join((alt_text or "").split())
        if not alt_text:
            raise InvalidInput(
                _("Describe the image in words for people who cannot see it (alt text)."),
                field="alt_text",
            )
        if len(alt_text) > ALT_MAX:
            raise InvalidInput(_("The description is too long (at most ${n} characters).",
                                 mapping={"n": ALT_MAX}), field="alt_text")
        self._check_size(data)
        cleaned, media_type, width, height = self._clean(data)
        image = Image(
            site_id=site.id, media_type=media_type, width=width, height=height,
            byte_size=len(cleaned), sha256=hashlib.sha256(cleaned).hexdigest(),
            alt_text=alt_text, data=cleaned, created_at=self.clock(),
            uploaded_by_id=actor.account_id,
        )
        self.dbsession.add(image)
        self.dbsession.flush()
        AuditLog(self.dbsession, self.clock).record(
            actor, "image.upload", site_id=site.id, target=image,
            filename=(filename or "")[:200], bytes_in=len(data), bytes_stored=len(cleaned),
        )
        return image

    def for_site(self, site, limit=100) -> list:
        """The site's images, newest first, without loading their bytes."""
        return list(
            self.dbsession.scalars(
                select(Image)
                .options(load_only(Image.id, Image.public_key, Image.site_id, Image.media_type,
                                   Image.width,
                                   Image.height, Image.byte_size, Image.alt_text,
                                   Image.created_at))
                .where(Image.site_id == site.id)
                .order_by(Image.id.desc())
                .limit(limit)
            )
        )

    def _check_size(self, data):
        if not data:
            raise InvalidInput(_("Choose an image file to upload."), field="upload")
        if len(data) > self.settings.upload_max_bytes:
            raise InvalidInput(
                _("The file is too large. Images up to ${mb} MB can be uploaded.",
                  mapping={"mb": round(self.settings.upload_max_bytes / 1024 / 1024, 1)}),
                field="upload",
            )

    def _clean(self, data):
        """Return ``(bytes, media_type, width, height)`` of the re-encoded image."""
        from PIL import Image as PILImage
        from PIL import ImageOps

        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            try:
                source_format = self._checked_format(data)
                with PILImage.open(io.BytesIO(data)) as opened:
                    opened.load()
                    upright = ImageOps.exif_transpose(opened)
            except decode_errors() as exc:
                raise InvalidInput(
                    _("This file could not be read as an image. Upload a JPEG, PNG, WebP "
                      "or GIF picture."),
                    field="upload",
                ) from exc
        target = ACCEPTED[source_format]
        resized = self._narrowed(upright)
        out = io.BytesIO()
        prepared = _mode_for(resized, target)
        params = {"icc_profile": upright.info.get("icc_profile")} if upright.info.get(
            "icc_profile") else {}
        if target == "JPEG":
            params.update(quality=85, optimize=True, progressive=True)
        elif target == "WEBP":
            params.update(quality=85)
        else:
            params.update(optimize=True)
            if "transparency" in prepared.info:
                params["transparency"] = prepared.info["transparency"]
        prepared.info = {}
        prepared.save(out, target, **params)
        return out.getvalue(), MEDIA_TYPES[target], prepared.width, prepared.height

    @staticmethod
    def _checked_format(data) -> str:
        """Read the header only: the type by content, and the pixel count before decoding."""
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError

        with PILImage.open(io.BytesIO(data)) as probe:
            source_format = probe.format
            width, height = probe.size
            if source_format not in ACCEPTED:
                raise UnidentifiedImageError(source_format)
            if width * height > MAX_PIXELS:
                raise InvalidInput(
                    _("The image has too many pixels (at most ${n} million).",
                      mapping={"n": MAX_PIXELS // 1_000_000}),
                    field="upload",
                )
            probe.verify()
        return source_format

    def _narrowed(self, image):
        from PIL import Image as PILImage

        max_width = self.settings.image_max_width
        if image.width <= max_width:
            return image
        if image.mode in ("1", "P"):
            image = image.convert("RGBA")
        height = max(1, round(image.height * max_width / image.width))
        return image.resize((max_width, height), PILImage.Resampling.LANCZOS)


def _mode_for(image, target):
    """JPEG has no alpha and no palette; keep what the target format can hold."""
    if target == "JPEG":
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    if target == "WEBP":
        return image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
    if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA"):
        return image
    return image.convert("RGBA")


def markdown_snippet(site_code: str, image) -> str:
    """What an editor pastes into a text: ``![alt](/s/{code}/images/{key})``."""
    alt = image.alt_text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"![{alt}](/s/{site_code}/images/{image.public_key})"
