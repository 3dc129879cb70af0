"""A site's own look (サイトの見た目): its logo, the photo at the top of its page and its
accent colour, so that a town's pages look like that town.

The colour replaces the theme's brand colour, which the pages use as the background of
white text (header, buttons, the current tag) and as text on white and on the theme's light
backgrounds. A colour is accepted only when every one of those pairs keeps WCAG 2.2 AA
contrast for normal text (4.5:1); otherwise the field says which ratio it reached, so the
admin can pick a darker shade. The files go through the image service like any other
upload (type read from the content, EXIF dropped, resized)."""
import re
import unicodedata

from sqlalchemy import select

from ..i18n import _
from ..models import Image
from .audit import AuditLog
from .errors import InvalidInput
from .images import ImageService

AA_NORMAL_TEXT = 4.5
WHITE = "#ffffff"
BACKGROUNDS = (
    ("#ffffff", "white text and the page background"),
    ("#f2f2f2", "the footer's and panels' background"),
    ("#e6f5ec", "the site menu's background"),
)
"""What the accent colour is read against: white (both as the text on it and as the page
behind it), and the themes' light surfaces (design-tokens gray-50 and green-50)."""
HEX = re.compile(r"#?([0-9a-f]{6}|[0-9a-f]{3})")


def parse_colour(text: str) -> str:
    """``#1D5B3A``, ``1d5b3a``, ``#15a`` or full-width ``＃１Ｄ…`` → ``#1d5b3a``."""
    raw = unicodedata.normalize("NFKC", text or "").strip().lower()
    match = HEX.fullmatch(raw)
    if match is None:
        raise InvalidInput(
            _("Enter the colour as # and six hexadecimal digits, for example #1d5b3a."),
            field="accent_color")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return "#" + digits


def relative_luminance(colour: str) -> float:
    """WCAG 2.2's relative luminance of an sRGB ``#rrggbb``."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)),
                             reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def checked_accent(text: str) -> str:
    """The normalised colour, or InvalidInput naming the weakest pair and its ratio."""
    colour = parse_colour(text)
    weakest = min(contrast_ratio(colour, background) for background, _use in BACKGROUNDS)
    if weakest < AA_NORMAL_TEXT:
        shown = f"{int(weakest * 10) / 10:.1f}"  # rounded down: 4.49 must not read as 4.5
        raise InvalidInput(
            _("This colour is too light for text: its contrast is ${ratio}:1 where at least "
              "4.5:1 is needed (WCAG AA). Choose a darker colour.",
              mapping={"ratio": shown}),
            field="accent_color")
    return colour


class SiteBrandingService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.images = ImageService(dbsession, clock=clock, settings=settings)

    def current(self, site) -> dict:
        return {"accent_color": site.accent_color or "",
                "logo_key": site.logo_key, "header_image_key": site.header_image_key}

    def header_image(self, site):
        """The header image's row without its bytes (its size and alt text), or None."""
        if not site.header_image_key:
            return None
        return self.dbsession.scalar(
            select(Image).where(Image.site_id == site.id,
                                Image.public_key == site.header_image_key)
        )

    def update(self, actor, site, *, accent_color="", logo=None, header_image=None,
               header_alt="", remove_logo=False, remove_header_image=False):
        """Apply the form's choices; uploads are ``(filename, bytes)`` or None. Nothing is
        changed when any part is refused (the caller's transaction is aborted)."""
        changes = {}
        colour = checked_accent(accent_color) if (accent_color or "").strip() else None
        if colour != site.accent_color:
            changes["accent_color"] = colour
        if remove_logo and site.logo_key:
            changes["logo_key"] = None
        elif logo is not None:
            image = self._upload(actor, site, logo, site.name, "logo")
            changes["logo_key"] = image.public_key
        if remove_header_image and site.header_image_key:
            changes["header_image_key"] = None
        elif header_image is not None:
            alt = " ".join((header_alt or "").split())
            if not alt:
                raise InvalidInput(
                    _("Describe the header image in words for people who cannot see it."),
                    field="header_alt")
            image = self._upload(actor, site, header_image, alt, "header_image")
            changes["header_image_key"] = image.public_key
        for name, value in changes.items():
            setattr(site, name, value)
        if changes:
            AuditLog(self.dbsession, self.clock).record(
                actor, "site.branding", site_id=site.id, target=site,
                changed=sorted(changes))
        return changes

    def _upload(self, actor, site, upload, alt_text, field):
        filename, data = upload
        try:
            return self.images.upload(actor, site, filename, data, alt_text)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=field) from exc
