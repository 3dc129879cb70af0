"""Signed statements on the registration card (登録証の確認用QRコード).

Facility staff (a residents-only facility, a shop with a resident rate) check a card by
scanning its QR code: it holds a short-lived statement, signed with Ed25519, saying that
a registration with a site is active, with its tier (ベーシック/プレミアム), the premium
expiry and the long-stay mark (長期滞在者). The statement never holds the person's name
or anything else about them, and a verifier shows only the site, the tier and the expiry.

Format, kept short so the QR code stays small::

    base64url(JSON array) "." base64url(Ed25519 signature over the first part)

The JSON array is ``[1, kid, registration id, site code, site name, tier,
premium until (Tokyo date "YYYY-MM-DD" or null), long stay (0/1), issued at, expires
at]`` (times in Unix seconds). The first element is the format version. The site name
is inside so a verifier without a connection can show it.

Keys: the file named by ``furusato.card_signing_key_file`` is a JSON key set
``{"keys": [JWK, ...]}``: the first key holding a private part (``d``) signs; the
others are earlier keys whose public halves stay published at /verify/keys.json, so
statements signed before a rotation (and verifiers that cached the key set) keep
working. The file is created (mode 0600) the first time it is needed; the private key is
never logged. ``rotate_key`` starts a new key and keeps the old public key.
"""
import base64
import binascii
import hashlib
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from ..clock import to_tokyo

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
STATEMENT_MINUTES = 5
"""How long a statement on the card stays valid: a screenshot is useless soon after."""
CLOCK_SKEW = timedelta(minutes=1)
"""How far a statement's issue time may lie ahead of the verifier's clock."""
MAX_INPUT_CHARS = 2000
"""Longer input is refused before any decoding (a real statement is about 250 chars)."""
TIERS = ("basic", "premium")


# -- keys ------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding, in its one canonical spelling (unused trailing
    bits zero), so one statement cannot be written several ways; ValueError otherwise."""
    if not text.isascii() or "=" in text:
        raise ValueError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:
        raise ValueError("not base64url") from error
    if b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


def key_id(public_raw: bytes) -> str:
    """A short id derived from the public key, so no two keys share one by accident."""
    return b64url(hashlib.sha256(public_raw).digest()[:6])


def _raw_public(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def new_private_jwk(now: datetime) -> dict:
    private_key = Ed25519PrivateKey.generate()
    public_raw = _raw_public(private_key)
    return {
        "kty": "OKP", "crv": "Ed25519", "kid": key_id(public_raw), "x": b64url(public_raw),
        "d": b64url(private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())),
        "created": now.isoformat(),
    }


def public_jwk(jwk: dict) -> dict:
    """The part of a key that is published."""
    return {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
            "kid": jwk["kid"], "x": jwk["x"]}


@dataclass(frozen=True)
class Keyring:
    """The keys read from the key file: one to sign with, all of them to publish."""

    kid: str
    signing_key: Ed25519PrivateKey
    jwks: tuple

    def public_jwks(self) -> dict:
        return {"keys": [public_jwk(jwk) for jwk in self.jwks]}

    @classmethod
    def from_document(cls, document: dict) -> "Keyring":
        jwks = tuple(document["keys"])
        current = next((jwk for jwk in jwks if jwk.get("d")), None)
        if current is None:
            raise RuntimeError("the card signing key file holds no private key")
        return cls(
            kid=current["kid"],
            signing_key=Ed25519PrivateKey.from_private_bytes(b64url_decode(current["d"])),
            jwks=jwks,
        )


_cache: dict = {}
_cache_lock = threading.Lock()


def load_keyring(path: str, now: datetime) -> Keyring:
    """The key set in ``path``, created there first when the file is missing. Read
    again only when the file changes (after ``rotate_key``)."""
    if not path:
        raise RuntimeError("furusato.card_signing_key_file must be set")
    if not os.path.exists(path):
        _create_key_file(path, now)
    stat = os.stat(path)
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    with _cache_lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != stamp:
            with open(path, encoding="utf-8") as handle:
                cached = (stamp, Keyring.from_document(json.load(handle)))
            _cache[path] = cached
        return cached[1]


def _write_private(path: str, document: dict) -> str:
    """A new file beside ``path`` with mode 0600 holding ``document``; returns its name."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".card-key-")
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return temporary


def _create_key_file(path: str, now: datetime):
    """Create the key file unless another process just did: the file appears complete
    or not at all (a hard link never replaces an existing file)."""
    jwk = new_private_jwk(now)
    temporary = _write_private(path, {"keys": [jwk]})
    try:
        os.link(temporary, path)
        log.warning("created the card signing key file %s (key id %s)", path, jwk["kid"])
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)


def rotate_key(path: str, now: datetime) -> str:
    """Sign with a new key from now on; earlier keys stay published without their private
    part. Returns the new key id."""
    with open(path, encoding="utf-8") as handle:
        old = json.load(handle)["keys"]
    jwk = new_private_jwk(now)
    retired = [{k: v for k, v in key.items() if k != "d"} for key in old]
    os.replace(_write_private(path, {"keys": [jwk, *retired]}), path)
    log.warning("rotated the card signing key in %s (new key id %s)", path, jwk["kid"])
    return jwk["kid"]


def public_keys_by_id(jwks: dict) -> dict:
    """``{kid: Ed25519PublicKey}`` of a published key set; entries that are not Ed25519
    public keys are ignored."""
    keys = {}
    for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        try:
            if jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519":
                keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        except (KeyError, TypeError, ValueError):
            continue
    return keys


# -- statements ------------------------------------------------------------------


@dataclass(frozen=True)
class Claims:
    """What a statement says: nothing about the person but the registration's status."""

    registration_id: int
    site_code: str
    site_name: str
    tier: str
    premium_until: date | None
    long_stay: bool
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class IssuedStatement:
    text: str
    url: str
    claims: Claims

    @property
    def expires_at(self) -> datetime:
        return self.claims.expires_at


@dataclass(frozen=True)
class Verdict:
    """The answer a verifier gives: valid with the site, tier and expiry, or invalid
    with a reason (``malformed``, ``unknown_key``, ``bad_signature``, ``expired``,
    ``not_yet_valid``) and nothing else."""

    valid: bool
    reason: str
    claims: Claims | None = None

    def public(self) -> dict:
        """What may be shown or printed: never the registration id."""
        if not self.valid:
            return {"valid": False, "reason": self.reason}
        claims = self.claims
        return {
            "valid": True,
            "site": claims.site_name,
            "site_code": claims.site_code,
            "tier": claims.tier,
            "premium_until": claims.premium_until.isoformat() if claims.premium_until else None,
            "long_stay": claims.long_stay,
            "expires_at": claims.expires_at.isoformat(),
        }


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def tier_at(registration, now: datetime) -> str:
    """Premium only within its period: a lapsed premium not yet renewed shows as basic."""
    if registration.tier == "premium" and (
        registration.premium_until is None or registration.premium_until > now
    ):
        return "premium"
    return "basic"


def long_stay_shown(registration) -> bool:
    """The long-stay mark appears only where the site uses it."""
    return bool(registration.long_stay and registration.site.long_stay_enabled)


def claims_for(registration, now: datetime) -> Claims:
    tier = tier_at(registration, now)
    until = registration.premium_until if tier == "premium" else None
    return Claims(
        registration_id=registration.id,
        site_code=registration.site.code,
        site_name=registration.site.name,
        tier=tier,
        premium_until=to_tokyo(until).date() if until else None,
        long_stay=long_stay_shown(registration),
        issued_at=_moment(_unix(now)),
        expires_at=_moment(_unix(now + timedelta(minutes=STATEMENT_MINUTES))),
    )


def sign(claims: Claims, keyring: Keyring) -> str:
    body = [
        FORMAT_VERSION, keyring.kid, claims.registration_id, claims.site_code,
        claims.site_name, claims.tier,
        claims.premium_until.isoformat() if claims.premium_until else None,
        int(claims.long_stay), _unix(claims.issued_at), _unix(claims.expires_at),
    ]
    payload = b64url(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    signature = keyring.signing_key.sign(payload.encode("ascii"))
    return f"{payload}.{b64url(signature)}"


def statement_text(entered: str) -> str:
    """The statement in what a scanner or a person entered: the statement itself or the
    whole verification URL from the QR code."""
    entered = (entered or "").strip()
    if "?" in entered:
        values = parse_qs(urlsplit(entered).query).get("s")
        return values[0].strip() if values else ""
    return entered


class Malformed(ValueError):
    """The text is not a statement of a known format."""


def _decoded(text: str) -> tuple:
    if len(text) > MAX_INPUT_CHARS or text.count(".") != 1:
        raise Malformed()
    payload, signature = text.split(".")
    try:
        body = json.loads(b64url_decode(payload).decode("utf-8"))
        signature = b64url_decode(signature)
    except (ValueError, UnicodeDecodeError) as error:
        raise Malformed() from error
    if not (isinstance(body, list) and len(body) == 10 and body[0] == FORMAT_VERSION
            and isinstance(body[1], str)):
        raise Malformed()
    return payload, signature, body


def _claims_of(body: list) -> Claims:
    _version, _kid, registration_id, code, name, tier, until, long_stay, issued, expires = body
    valid_types = (
        _is_int(registration_id) and isinstance(code, str) and isinstance(name, str)
        and tier in TIERS and (until is None or isinstance(until, str))
        and long_stay in (0, 1) and _is_int(issued) and _is_int(expires)
    )
    if not valid_types:
        raise Malformed()
    try:
        premium_until = date.fromisoformat(until) if until else None
        return Claims(registration_id, code, name, tier, premium_until, bool(long_stay),
                      _moment(issued), _moment(expires))
    except (ValueError, OverflowError, OSError) as error:
        raise Malformed() from error


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def verify_statement(entered: str, jwks: dict, now: datetime) -> Verdict:
    """Check a statement against a published key set at ``now``: the signature by a
    known key, then the validity period. The same rule online and offline."""
    try:
        payload, signature, body = _decoded(statement_text(entered))
    except Malformed:
        return Verdict(False, "malformed")
    public_key = public_keys_by_id(jwks).get(body[1])
    if public_key is None:
        return Verdict(False, "unknown_key")
    try:
        public_key.verify(signature, payload.encode("ascii"))
    except InvalidSignature:
        return Verdict(False, "bad_signature")
    try:
        claims = _claims_of(body)
    except Malformed:
        return Verdict(False, "malformed")
    if claims.issued_at > now + CLOCK_SKEW:
        return Verdict(False, "not_yet_valid")
    if now >= claims.expires_at:
        return Verdict(False, "expired")
    return Verdict(True, "valid", claims)


class CardStatementService:
    """Issues the card's statements and verifies them with this server's keys."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def keyring(self) -> Keyring:
        return load_keyring(self.settings.card_signing_key_file, self.clock())

    def issue(self, registrations) -> dict:
        """``{registration id: IssuedStatement}`` for the registrations on a card."""
        keyring = self.keyring()
        now = self.clock()
        issued = {}
        for registration in registrations:
            claims = claims_for(registration, now)
            text = sign(claims, keyring)
            issued[registration.id] = IssuedStatement(text, self.verify_url(text), claims)
        return issued

    def verify_url(self, text: str) -> str:
        return f"{self.settings.base_url}/verify?s={text}"

    def public_keys(self) -> dict:
        return self.keyring().public_jwks()

    def verify(self, entered: str) -> Verdict:
        return verify_statement(entered, self.public_keys(), self.clock())
