"""Signed codes for attendance (出席記録): the check-in code printed on a session's poster
(the code on a registrant's card code page is in ``card_codes``).

Check-in code: ``<session id>.<token version>.<mac>``, where the MAC is HMAC-SHA256 over
the session id and version with a key derived for this purpose only (never the raw
session secret), truncated to 16 bytes and base64url-encoded: about 30 characters, so the
poster's QR code stays small and easy to scan. Rotating a session's ``token_version``
makes every earlier poster stop working. Each refusal says what is wrong: an altered
code, a replaced (rotated) code, or a code of a different session.
"""
import base64
import hashlib
import hmac
from functools import lru_cache

from ..i18n import _
from .errors import NotAllowed

MAC_BYTES = 16
CHECKIN_PURPOSE = b"furusato-cms/attendance/checkin-token/v1"


class TokenRefused(NotAllowed):
    """A code was refused; ``reason`` tells which check failed (for callers and tests)."""

    def __init__(self, reason, message, field=None):
        super().__init__(message, field)
        self.reason = reason


@lru_cache(maxsize=32)
def derived_key(secret: str, purpose: bytes) -> bytes:
    """A key for one purpose, so a code made for one use is worthless for another
    (derived once per secret and purpose: services are built on every request)."""
    return hmac.new(secret.encode("utf-8"), purpose, hashlib.sha256).digest()


def _mac(key: bytes, *parts: int) -> str:
    message = ".".join(str(part) for part in parts).encode("ascii")
    digest = hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _split(token: str):
    """``(first, second, mac)`` of a well-formed code, or None."""
    parts = (token or "").strip().split(".")
    if len(parts) != 3 or not all(_is_small_number(part) for part in parts[:2]):
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def _is_small_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 12


def _mac_matches(key: bytes, first: int, second: int, mac: str) -> bool:
    return hmac.compare_digest(_mac(key, first, second).encode("ascii"),
                               mac.encode("ascii", "replace"))


TAMPERED = _("This check-in code is not valid. Please scan the code on the poster at the "
             "venue again.")
ROTATED = _("This check-in code has been replaced by a new one. Please scan the code on "
            "the current poster at the venue.")
FOREIGN = _("This check-in code belongs to a different session.")


class CheckinTokens:
    def __init__(self, settings):
        self.key = derived_key(settings.session_secret, CHECKIN_PURPOSE)

    def token_for(self, session) -> str:
        mac = _mac(self.key, session.id, session.token_version)
        return f"{session.id}.{session.token_version}.{mac}"

    def session_id_of(self, token: str) -> int:
        """The session a genuine code names; an altered code is refused before any lookup."""
        return self.read(token)[0]

    def read(self, token: str) -> tuple[int, int]:
        """``(session id, version)`` of a genuine code; an altered code is refused."""
        parts = _split(token)
        if parts is None or not _mac_matches(self.key, *parts):
            raise TokenRefused("tampered", TAMPERED)
        return parts[0], parts[1]

    def verify(self, token: str, session):
        """Refuse unless ``token`` is the current code of ``session``."""
        self.require_current(self.read(token), session)

    @staticmethod
    def require_current(read: tuple[int, int], session):
        """Refuse unless a code already ``read`` is the current code of ``session``."""
        session_id, version = read
        if session_id != session.id:
            raise TokenRefused("foreign", FOREIGN)
        if version < session.token_version:
            raise TokenRefused("rotated", ROTATED)
        if version != session.token_version:
            raise TokenRefused("tampered", TAMPERED)


def rotate(session):
    """Issue a new code for the session: every printed poster of it stops working."""
    session.token_version += 1


def signed_pair(key: bytes, first: int, second: int) -> str:
    """``<first>.<second>.<mac>``, the shape of the codes above, for codes of other
    purposes (e.g. the stay codes of services/stays.py) made with their own key."""
    return f"{first}.{second}.{_mac(key, first, second)}"


def read_signed_pair(key: bytes, token: str):
    """``(first, second)`` of a genuine code made with ``key``, or None."""
    parts = _split(token)
    if parts is None or not _mac_matches(key, *parts):
        return None
    return parts[0], parts[1]
