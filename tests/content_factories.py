"""Helpers for the content tests: staff signed in, CSRF tokens, and real image bytes."""
import io
import re

from PIL import Image

from furusato_cms.services.audit import Actor

from .access import csrf_token as any_csrf_token
from .factories import make_staff, sign_in


def actor_for(account) -> Actor:
    return Actor(account_id=account.id, label=account.email, client_addr="127.0.0.1")


def signed_in_staff(testapp, dbsession, site, clock, app_settings, role="editor", *,
                    is_reviewer=False, email=None):
    """Create a staff member of ``site`` and sign the test client in as them."""
    account = make_staff(dbsession, site, role, is_reviewer=is_reviewer, email=email)
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def csrf_token(testapp, path=None) -> str:
    """The session's CSRF token, from the form on ``path`` (default: any page with one)."""
    if path is None:
        return any_csrf_token(testapp)
    page = testapp.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def image_bytes(fmt="PNG", size=(40, 30), color=(200, 30, 30), exif=None) -> bytes:
    mode = "RGBA" if fmt == "PNG" else "RGB"
    image = Image.new(mode, size, color)
    buffer = io.BytesIO()
    params = {"exif": exif.tobytes()} if exif is not None else {}
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def camera_exif(orientation=6) -> Image.Exif:
    """EXIF as a phone writes it: maker, orientation and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (36.0, 39.0, 0.0), 3: "E", 4: (138.0, 11.0, 0.0)}
    return exif
