"""furusato-dev-oidc: a local OpenID Connect provider standing in for the national My Number
Card authentication service (マイナンバーカードによる本人確認). Development and tests only.

It speaks the profile the application must speak to the real service: the authorization
code flow with PKCE S256, ``state`` and ``nonce``, client authentication by
``private_key_jwt`` and RS256 ID tokens carrying name, address, birthdate and gender —
never a 個人番号. "Signing in" is choosing one of the fictional people in
``test_people.json``; the people marked ``fault`` make the provider misbehave on purpose
(bad signature, wrong nonce, expired, wrong audience) so error handling can be tested
against a real process.

    furusato-dev-oidc --port 9080 --key var/dev-oidc/provider-key.json \\
        --clients var/dev-oidc/clients.json \\
        [--client-id ID --client-key var/dev-oidc/client-key.json --redirect-uri URL]

``--port 0`` picks a free port; the first stdout line then says the issuer URL. Clients
(``{client_id: {"redirect_uris": [...], "jwks": {...}}}``) are re-read on every request,
so tests may register redirect URIs while the provider runs.
"""
import argparse
import base64
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from joserfc import jwk, jwt
from joserfc.errors import JoseError
from webob import Response
from webob.dec import wsgify
from webob.exc import HTTPFound, HTTPMethodNotAllowed, HTTPNotFound

from . import oidc_pages
from ._serving import bind, port_of, serve_wsgi
from .oidc_registry import (
    PEOPLE_FILE, ensure_client, load_or_create_key, load_people, person_claims, read_clients,
)

SCOPES = ("openid", "name", "address", "birthdate", "gender")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ALGORITHMS = ["RS256", "ES256"]
CODE_LIFETIME = 60
TOKEN_LIFETIME = 600
PKCE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")

CLAIM_FAULTS = {
    "wrong_nonce": lambda claims: {**claims, "nonce": "not-" + claims["nonce"]},
    "expired": lambda claims: {
        **claims, "iat": claims["iat"] - 2 * TOKEN_LIFETIME, "exp": claims["iat"] - TOKEN_LIFETIME,
    },
    "wrong_audience": lambda claims: {**claims, "aud": "another-client"},
}


# --- protocol errors ----------------------------------------------------------------------

class OAuthError(Exception):
    """An RFC 6749 error answered as JSON by the token and userinfo endpoints."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> Response:
        return json_response({"error": self.error, "error_description": self.description},
                             status=self.status)


class PageError(Exception):
    """An authorization request error shown on the page: the client or redirect URI is not
    trusted, so nothing may be sent back to it (RFC 6749 §4.1.2.1)."""

    def __init__(self, japanese: str, english: str):
        super().__init__(english)
        self.japanese, self.english = japanese, english


class RedirectError(Exception):
    """An authorization request error sent back to a registered redirect URI."""

    def __init__(self, redirect_uri: str, state: str, error: str, description: str):
        super().__init__(description)
        self.location = with_query(redirect_uri, error=error, error_description=description,
                                   state=state)


def with_query(uri: str, **params) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in params.items() if value]
    return urlunsplit(parts._replace(query=urlencode(query)))


def json_response(data, status: int = 200, headers=None) -> Response:
    response = Response(json.dumps(data, ensure_ascii=False), status=status,
                        content_type="application/json", charset="utf-8")
    response.headers.update(headers or {})
    return response


# --- the authorization request ------------------------------------------------------------

@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: tuple
    state: str
    nonce: str
    code_challenge: str

    @classmethod
    def parse(cls, params, clients: dict) -> "AuthorizationRequest":
        client_id = params.get("client_id", "")
        if client_id not in clients:
            raise PageError("登録されていない client_id です。", "Unknown client_id.")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in clients[client_id].get("redirect_uris", []):
            raise PageError("この client に登録されていない redirect_uri です。",
                            "redirect_uri is not registered for this client.")
        state = params.get("state", "")
        scope = tuple(params.get("scope", "").split())
        problem = cls._problem(params, scope, state)
        if problem:
            raise RedirectError(redirect_uri, state, *problem)
        return cls(client_id, redirect_uri, scope, state, params["nonce"],
                   params["code_challenge"])

    @staticmethod
    def _problem(params, scope, state):
        """The first RFC 6749 error in the request, as (error, description), or None."""
        if params.get("response_type") != "code":
            return "unsupported_response_type", "only response_type=code is supported"
        if "openid" not in scope:
            return "invalid_scope", "scope must include openid"
        unknown = [name for name in scope if name not in SCOPES]
        if unknown:
            return "invalid_scope", f"unsupported scope: {' '.join(unknown)}"
        if not state:
            return "invalid_request", "state is required"
        if not params.get("nonce"):
            return "invalid_request", "nonce is required"
        if params.get("code_challenge_method") != "S256":
            return "invalid_request", "PKCE with code_challenge_method=S256 is required"
        if not PKCE_CHALLENGE.fullmatch(params.get("code_challenge", "")):
            return "invalid_request", "code_challenge must be a base64url SHA-256 digest"
        return None

    def as_fields(self) -> dict:
        """The request again, as the hidden fields of the chooser form."""
        return {
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_uri, "scope": " ".join(self.scope),
            "state": self.state, "nonce": self.nonce, "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }


# --- what the provider remembers ----------------------------------------------------------

@dataclass
class Grant:
    """What a one-time code stands for."""
    request: AuthorizationRequest
    person: dict
    auth_time: int
    expires_at: int
    used: bool = False
    access_tokens: list = field(default_factory=list)


@dataclass(frozen=True)
class IssuedToken:
    person: dict
    scope: tuple
    expires_at: int


class Memory:
    """Codes, access tokens and seen client assertion ids, in memory, shared by threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.assertion_ids: dict[tuple, int] = {}

    def _forget_expired(self, now: int) -> None:
        for table in (self.codes, self.tokens):
            for key in [k for k, v in table.items() if v.expires_at <= now]:
                del table[key]
        for key in [k for k, exp in self.assertion_ids.items() if exp < now]:
            del self.assertion_ids[key]

    def new_code(self, grant: Grant, now: int) -> str:
        code = secrets.token_urlsafe(32)
        with self.lock:
            self._forget_expired(now)
            self.codes[code] = grant
        return code

    def redeem(self, code: str, now: int) -> Grant:
        """The grant of a code, once. Presenting a code again revokes what it gave
        (RFC 6749 §4.1.2)."""
        with self.lock:
            self._forget_expired(now)
            grant = self.codes.get(code)
            if grant is None:
                raise OAuthError("invalid_grant", "unknown or expired code")
            if grant.used:
                for token in grant.access_tokens:
                    self.tokens.pop(token, None)
                raise OAuthError("invalid_grant",
                                 "code already used; tokens issued with it are revoked")
            grant.used = True
            return grant

    def issue_token(self, grant: Grant, now: int) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            grant.access_tokens.append(token)
            self.tokens[token] = IssuedToken(grant.person, grant.request.scope,
                                             now + TOKEN_LIFETIME)
        return token

    def token(self, token: str, now: int):
        with self.lock:
            issued = self.tokens.get(token)
        return issued if issued and issued.expires_at > now else None

    def first_use_of_assertion(self, client_id: str, jti: str, expires_at: int, now: int) -> bool:
        with self.lock:
            self._forget_expired(now)
            if (client_id, jti) in self.assertion_ids:
                return False
            self.assertion_ids[(client_id, jti)] = expires_at
            return True


# --- the provider -------------------------------------------------------------------------

def unverified_issuer(assertion: str) -> str:
    """The ``iss`` of a JWT before its signature is checked: it names the client whose
    registered keys will check it."""
    try:
        payload = assertion.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(data.get("iss", ""))
    except (IndexError, ValueError, AttributeError):
        return ""


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def half_hash(token: str) -> str:
    """``at_hash``: the left half of the SHA-256 of the access token (OIDC Core §3.1.3.6)."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


class Provider:
    """The WSGI application."""

    def __init__(self, issuer: str, *, signing_key: dict, people: list, clients_path: str,
                 clock=None):
        self.issuer = issuer.rstrip("/")
        self.signing_key = jwk.import_key(signing_key)
        self.kid = signing_key["kid"]
        self.people = people
        self.people_by_key = {person["key"]: person for person in people}
        self.clients_path = clients_path
        self.clock = clock or (lambda: int(time.time()))
        self.memory = Memory()
        self.routes = {
            "/": {"GET": self.home},
            "/.well-known/openid-configuration": {"GET": self.discovery},
            "/jwks": {"GET": self.jwks},
            "/authorize": {"GET": self.authorize_page, "POST": self.authorize_decision},
            "/token": {"POST": self.token},
            "/userinfo": {"GET": self.userinfo, "POST": self.userinfo},
        }

    def url(self, path: str) -> str:
        return self.issuer + path

    @cached_property
    def impostor_key(self):
        """A key nobody published, for the bad-signature fault."""
        return jwk.generate_key("RSA", 2048, private=True)

    @wsgify
    def __call__(self, request):
        methods = self.routes.get(request.path_info)
        if methods is None:
            return HTTPNotFound()
        handler = methods.get(request.method)
        if handler is None:
            return HTTPMethodNotAllowed(headers={"Allow": ", ".join(methods)})
        return handler(request)

    def html(self, text: str, status: int = 200) -> Response:
        response = Response(text, status=status, content_type="text/html", charset="utf-8")
        response.cache_control = "no-store"
        return response

    def home(self, request):
        return self.html(oidc_pages.home_page(self.issuer))

    def discovery(self, request):
        return json_response({
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "userinfo_endpoint": self.url("/userinfo"),
            "jwks_uri": self.url("/jwks"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": CLIENT_ALGORITHMS,
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(SCOPES),
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
                                 "at_hash", "name", "address", "birthdate", "gender"],
        })

    def jwks(self, request):
        return json_response({"keys": [self.signing_key.as_dict(private=False, alg="RS256",
                                                                use="sig")]})

    # /authorize

    def _authorization_request(self, params):
        """The parsed request, or the response refusing it."""
        try:
            return AuthorizationRequest.parse(params, read_clients(self.clients_path)), None
        except PageError as exc:
            return None, self.html(oidc_pages.error_page(exc.japanese, exc.english), 400)
        except RedirectError as exc:
            return None, HTTPFound(location=exc.location)

    def authorize_page(self, request):
        auth, refusal = self._authorization_request(request.GET)
        if refusal:
            return refusal
        return self.html(oidc_pages.chooser_page(
            self.url("/authorize"), auth.as_fields(), auth.client_id, auth.scope, self.people))

    def authorize_decision(self, request):
        auth, refusal = self._authorization_request(request.POST)
        if refusal:
            return refusal
        if request.POST.get("cancel"):
            return HTTPFound(location=with_query(
                auth.redirect_uri, error="access_denied", error_description="the person cancelled",
                state=auth.state))
        person = self.people_by_key.get(request.POST.get("person", ""))
        if person is None:
            return self.html(oidc_pages.error_page("テスト用の人物を選んでください。",
                                                   "Choose a test person."), 400)
        now = self.clock()
        code = self.memory.new_code(Grant(auth, person, now, now + CODE_LIFETIME), now)
        return HTTPFound(location=with_query(auth.redirect_uri, code=code, state=auth.state))

    # /token

    def token(self, request):
        try:
            body = self.exchange(request.POST)
        except OAuthError as exc:
            return exc.response()
        return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def exchange(self, form) -> dict:
        if form.get("grant_type") != "authorization_code":
            raise OAuthError("unsupported_grant_type", "only authorization_code is supported")
        client_id = self.authenticate_client(form)
        now = self.clock()
        grant = self.memory.redeem(form.get("code", ""), now)
        if grant.request.client_id != client_id:
            raise OAuthError("invalid_grant", "the code was issued to another client")
        if grant.request.redirect_uri != form.get("redirect_uri"):
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        if not PKCE_VERIFIER.fullmatch(verifier):
            raise OAuthError("invalid_grant", "code_verifier is missing or malformed")
        if not secrets.compare_digest(s256(verifier), grant.request.code_challenge):
            raise OAuthError("invalid_grant", "PKCE verification failed")
        access_token = self.memory.issue_token(grant, now)
        return {
            "access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME,
            "scope": " ".join(grant.request.scope),
            "id_token": self.id_token(grant, access_token, now),
        }

    def authenticate_client(self, form) -> str:
        """The client id proven by a ``private_key_jwt`` assertion (RFC 7523 §3)."""
        assertion = form.get("client_assertion", "")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
            raise OAuthError("invalid_client", "private_key_jwt client authentication is required",
                             401)
        client_id = unverified_issuer(assertion)
        client = read_clients(self.clients_path).get(client_id)
        if client is None or form.get("client_id", client_id) != client_id:
            raise OAuthError("invalid_client", "unknown client", 401)
        now = self.clock()
        try:
            token = jwt.decode(assertion, jwk.KeySet.import_key_set(client["jwks"]),
                               algorithms=CLIENT_ALGORITHMS)
            jwt.JWTClaimsRegistry(
                now=now,
                iss={"essential": True, "value": client_id},
                sub={"essential": True, "value": client_id},
                aud={"essential": True, "values": [self.url("/token"), self.issuer]},
                exp={"essential": True},
                jti={"essential": True},
            ).validate(token.claims)
            claims = token.claims
        except (JoseError, ValueError) as exc:
            raise OAuthError("invalid_client", f"client assertion refused: {exc}", 401) from exc
        if not self.memory.first_use_of_assertion(client_id, claims["jti"], claims["exp"], now):
            raise OAuthError("invalid_client", "client assertion jti already used", 401)
        return client_id

    def id_token(self, grant: Grant, access_token: str, now: int) -> str:
        person, request = grant.person, grant.request
        claims = {
            "iss": self.issuer, "sub": person["sub"], "aud": request.client_id,
            "exp": now + TOKEN_LIFETIME, "iat": now, "auth_time": grant.auth_time,
            "nonce": request.nonce, "at_hash": half_hash(access_token),
            **person_claims(person, request.scope),
        }
        fault = person.get("fault")
        claims = CLAIM_FAULTS.get(fault, dict)(claims)
        key = self.impostor_key if fault == "bad_signature" else self.signing_key
        return jwt.encode({"alg": "RS256", "kid": self.kid}, claims, key, algorithms=["RS256"])

    # /userinfo

    def userinfo(self, request):
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        issued = self.memory.token(token.strip(), self.clock()) if scheme == "Bearer" else None
        if issued is None:
            return json_response(
                {"error": "invalid_token", "error_description": "unknown or expired access token"},
                status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return json_response({"sub": issued.person["sub"],
                              **person_claims(issued.person, issued.scope)})


# --- command line -------------------------------------------------------------------------

def make_clock(frozen_time: str | None):
    """Real time, or a clock standing still (for tests whose app uses a fixed clock)."""
    if not frozen_time:
        return lambda: int(time.time())
    instant = datetime.fromisoformat(frozen_time)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    frozen = int(instant.timestamp())
    return lambda: frozen


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="furusato-dev-oidc",
        description="Local OpenID Connect provider standing in for the My Number Card "
                    "service (development and tests only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9080, help="0 picks a free port")
    parser.add_argument("--issuer", help="default: http://HOST:PORT")
    parser.add_argument("--people", default=PEOPLE_FILE)
    parser.add_argument("--clients", required=True, help="registered clients (JSON)")
    parser.add_argument("--key", required=True, help="provider signing key (JWK), made if missing")
    parser.add_argument("--client-id", help="register this client in --clients before serving")
    parser.add_argument("--client-key", help="the client's private JWK, made if missing")
    parser.add_argument("--redirect-uri", action="append", default=[],
                        help="a redirect URI of --client-id (repeatable)")
    parser.add_argument("--frozen-time", help="ISO instant the provider's clock stands still at")
    args = parser.parse_args(argv)
    if args.client_id and not args.client_key:
        parser.error("--client-id needs --client-key")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.client_id:
        ensure_client(args.clients, args.client_id, key_path=args.client_key,
                      redirect_uris=args.redirect_uri)
    sock = bind(args.host, args.port)
    issuer = args.issuer or f"http://{args.host}:{port_of(sock)}"
    provider = Provider(issuer, signing_key=load_or_create_key(args.key),
                        people=load_people(args.people), clients_path=args.clients,
                        clock=make_clock(args.frozen_time))
    serve_wsgi(provider, sock,
               f"furusato-dev-oidc: issuer {provider.issuer} (development stand-in only)")


if __name__ == "__main__":
    main()
