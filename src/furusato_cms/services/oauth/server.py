"""The authorization server (認可サーバー), built from Authlib's OAuth 2.0 components:
RFC 6749 grants, RFC 7636 PKCE, RFC 7009 revocation, RFC 7523 ``private_key_jwt`` client
authentication and RFC 8414 metadata. This module only stores and finds things; the
protocol is Authlib's. It never sees a Pyramid request: ``views/oauth.py`` hands it
Authlib's framework-neutral ``OAuth2Request`` (a small adapter).

Choices where the RFCs leave room:

- **PKCE S256 for every authorization code**, public or confidential client; ``plain``
  and a missing challenge are refused (RFC 9700 §2.1.1).
- **Redirect URIs match exactly**, but for the port of a loopback IP address registered
  without one (RFC 8252 §7.3: an app on a PC listens on whatever port is free).
- **Scopes must be named** in the request and be among the client's; registrant scopes
  only through the authorization code, site scopes only through client credentials by a
  confidential client of a site (no scope named: all of its site scopes).
- **A code is claimed** by a conditional UPDATE when it is exchanged (exactly once under
  parallel requests); a code presented again revokes the tokens issued for it.
- **Refresh tokens rotate** on every use (``TokenService.claim_refresh``); reuse revokes
  the family. Client-credentials tokens get no refresh token.
"""
import hmac
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc.jwk import KeySet
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ...models import Account, OAuthAssertionJti, OAuthAuthorizationCode, OAuthClient, OAuthToken
from ...models.meta import UTCDateTime
from ..authentication import hash_token
from .scopes import REGISTRANT_SCOPES, SCOPES, SITE_SCOPES, scope_string
from .tokens import (
    ACCESS_PREFIX,
    CODE_PREFIX,
    REFRESH_PREFIX,
    TokenService,
    new_family_id,
    new_secret,
)

SECRET_METHODS = ("client_secret_basic", "client_secret_post")
TOKEN_AUTH_METHODS = ["none", *SECRET_METHODS, "private_key_jwt"]


LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")


def redirect_uri_matches(registered, redirect_uri) -> bool:
    """Exactly one of the registered URIs, character for character — except the port of
    a loopback IP address (http://127.0.0.1 or [::1]), which an app on a PC picks when
    it starts listening (RFC 8252 §7.3 says the server must allow any port there)."""
    if not isinstance(redirect_uri, str):
        return False
    if redirect_uri in registered:
        return True
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError:
        return False
    host = parts.netloc.rsplit(":", 1)[0]
    if parts.scheme != "http" or port is None or host not in LOOPBACK_HOSTS:
        return False
    return urlunsplit(parts._replace(netloc=host)) in registered


class Client(ClientMixin):
    """An ``OAuthClient`` row as Authlib asks about it."""

    def __init__(self, row: OAuthClient):
        self.row = row

    def get_client_id(self):
        return self.row.client_id

    def get_default_redirect_uri(self):
        """None: the request must name its redirect URI (exact match, never a guess)."""
        return None

    def get_allowed_scope(self, scope):
        """The named scopes when the client may hold them all, else None (invalid_scope)."""
        requested = set(scope_to_list(scope) or ())
        if not requested or not requested <= set(self.row.scopes):
            return None
        return scope_string(requested)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri_matches(self.row.redirect_uris, redirect_uri)

    def check_client_secret(self, client_secret):
        return bool(self.row.secret_hash) and hmac.compare_digest(
            self.row.secret_hash, hash_token(client_secret or ""))

    def check_endpoint_auth_method(self, method, endpoint):
        method_of = {"none": "none", "private_key_jwt": "private_key_jwt",
                     **{m: "client_secret" for m in SECRET_METHODS}}
        return method_of.get(method) == self.row.auth_method

    def check_response_type(self, response_type):
        return response_type == "code" and bool(self.row.redirect_uris)

    def check_grant_type(self, grant_type):
        if grant_type == "client_credentials":
            return self.row.kind == "confidential" and self.row.site_id is not None
        return grant_type in ("authorization_code", "refresh_token") and bool(
            self.row.redirect_uris)


class Token:
    """An ``OAuthToken`` row as Authlib's refresh and revocation code asks about it."""

    def __init__(self, row: OAuthToken):
        self.row = row

    def check_client(self, client):
        return client.row.id == self.row.client_pk

    def get_scope(self):
        return self.row.scope

    def get_user(self):
        return self.row.account


class Code:
    def __init__(self, row: OAuthAuthorizationCode):
        self.row = row

    def get_redirect_uri(self):
        return self.row.redirect_uri

    def get_scope(self):
        return self.row.scope


class S256Only(CodeChallenge):
    """PKCE required with S256 on every authorization request."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' with "
                                      "'code_challenge_method=S256'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only 'code_challenge_method=S256' is accepted.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code):
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code):
        return authorization_code.row.code_challenge_method


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def validate_authorization_request(self):
        """Authlib's checks, then: a person can only grant a person's scopes."""
        redirect_uri = super().validate_authorization_request()
        if not set(scope_to_list(self.request.scope)) <= REGISTRANT_SCOPES:
            raise InvalidScopeError("Site scopes are for client credentials only.",
                                    redirect_uri=redirect_uri)
        return redirect_uri

    def generate_authorization_code(self):
        return new_secret(CODE_PREFIX)

    def save_authorization_code(self, code, request):
        now = self.server.clock()
        self.server.dbsession.add(OAuthAuthorizationCode(
            code_hash=hash_token(code), client_pk=request.client.row.id,
            account_id=request.user.id, redirect_uri=request.payload.redirect_uri,
            scope=request.scope, code_challenge=request.payload.data["code_challenge"],
            code_challenge_method="S256", created_at=now,
            expires_at=now + timedelta(seconds=self.server.settings.oauth_code_seconds)))
        self.server.dbsession.flush()

    def query_authorization_code(self, code, client):
        return self.server.claim_code(code, client.row)

    def delete_authorization_code(self, authorization_code):
        """Nothing: the code was claimed (``used_at``) when it was looked up."""

    def authenticate_user(self, authorization_code):
        account = self.server.dbsession.get(Account, authorization_code.row.account_id)
        return account if account is not None and account.disabled_at is None else None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        row = self.server.tokens.by_refresh_token(refresh_token, self.request.client.row)
        if row is None or not self.server.tokens.claim_refresh(row):
            return None
        return Token(row)

    def authenticate_user(self, refresh_token):
        account = refresh_token.row.account
        return account if account is not None and account.disabled_at is None else None

    def revoke_old_credential(self, refresh_token):
        """Nothing: claiming it marked it used (``refreshed_at``); using it again revokes
        the family."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*SECRET_METHODS, "private_key_jwt"]

    def validate_token_request(self):
        super().validate_token_request()
        allowed = set(self.client.row.scopes) & SITE_SCOPES
        requested = set(scope_to_list(self.request.payload.scope) or ()) or allowed
        if not requested or not requested <= allowed:
            raise InvalidScopeError()
        self.request.scope = scope_string(requested)

    def create_token_response(self):
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        digest = hash_token(token_string or "")
        row = self.server.dbsession.scalar(select(OAuthToken).where(
            (OAuthToken.access_token_hash == digest) | (OAuthToken.refresh_token_hash == digest)))
        return Token(row) if row is not None else None

    def revoke_token(self, token, request):
        """The whole family: an app that revokes one token means to end the grant."""
        self.server.tokens.revoke_family(token.row.family_id)


def _claim_jti_statement(dialect):
    table = OAuthAssertionJti.__table__
    return (dialect.insert(table)
            .values(key=bindparam("key"), expires_at=bindparam("expires_at", type_=UTCDateTime()))
            .on_conflict_do_nothing(index_elements=[table.c.key])
            .returning(table.c.key))


JTI_STATEMENTS = {"postgresql": _claim_jti_statement(postgresql),
                  "sqlite": _claim_jti_statement(sqlite)}


class PrivateKeyJwt(JWTBearerClientAssertion):
    """``private_key_jwt``: an assertion signed with a key of the client's JWKS, for this
    server's token endpoint (or issuer), each ``jti`` accepted once."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server):
        super().__init__(leeway=60)
        self.server = server

    def get_audiences(self):
        return [self.server.issuer, self.server.issuer + "/oauth/token",
                self.server.issuer + "/oauth/revoke"]

    def resolve_client_public_key(self, client):
        return KeySet.import_key_set(client.row.jwks or {"keys": []})

    def validate_jti(self, claims, jti):
        session = self.server.dbsession
        expires = self.server.clock() + timedelta(minutes=10)
        claimed = session.execute(JTI_STATEMENTS[session.bind.dialect.name],
                                  {"key": f"{claims['sub']}:{jti}"[:200],
                                   "expires_at": expires}).first()
        return claimed is not None


class FurusatoAuthorizationServer(AuthorizationServer):
    """One per request, with the request's session, clock and settings; ``issuer`` is the
    service's public address (``furusato.base_url``)."""

    def __init__(self, dbsession, *, clock, settings):
        super().__init__(scopes_supported=list(SCOPES))
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.issuer = settings.base_url
        self.tokens = TokenService(dbsession, clock=clock, settings=settings)
        self.register_token_generator("default", self._generate_token)
        self.register_client_auth_method("private_key_jwt", PrivateKeyJwt(self))
        self.register_grant(AuthorizationCodeGrant, [S256Only(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Revocation)

    def query_client(self, client_id):
        """A registered client that is not suspended (a suspended one is unknown here)."""
        if not isinstance(client_id, str) or len(client_id) > 64:
            return None
        row = self.dbsession.scalar(select(OAuthClient).where(
            OAuthClient.client_id == client_id, OAuthClient.suspended_at.is_(None)))
        return Client(row) if row is not None else None

    def _generate_token(self, grant_type, client, user=None, scope=None, expires_in=None,
                        include_refresh_token=True):
        token = {"token_type": "Bearer", "access_token": new_secret(ACCESS_PREFIX),
                 "expires_in": self.tokens.access_seconds, "scope": scope or ""}
        if include_refresh_token:
            token["refresh_token"] = new_secret(REFRESH_PREFIX)
        return token

    def save_token(self, token, request):
        """Store the hashes; a refreshed token stays in its family, a new code starts one
        (and remembers it, so the code's reuse can revoke it)."""
        if request.refresh_token is not None:
            family_id = request.refresh_token.row.family_id
        else:
            family_id = new_family_id()
            if request.authorization_code is not None:
                request.authorization_code.row.family_id = family_id
        self.tokens.store(request.client.row, getattr(request.user, "id", None), token,
                          family_id)

    def claim_code(self, code: str, client: OAuthClient) -> Code | None:
        """The unexpired, unused code of this client, marked used at once (one conditional
        UPDATE); a used code presented again revokes what it was exchanged for."""
        now, digest = self.clock(), hash_token(code or "")
        claimed = self.dbsession.execute(
            update(OAuthAuthorizationCode)
            .where(OAuthAuthorizationCode.code_hash == digest,
                   OAuthAuthorizationCode.client_pk == client.id,
                   OAuthAuthorizationCode.used_at.is_(None),
                   OAuthAuthorizationCode.expires_at > now)
            .values(used_at=now).execution_options(synchronize_session=False)).rowcount == 1
        row = self.dbsession.scalar(select(OAuthAuthorizationCode).where(
            OAuthAuthorizationCode.code_hash == digest,
            OAuthAuthorizationCode.client_pk == client.id))
        if row is not None:
            self.dbsession.refresh(row)
        if claimed:
            return Code(row)
        if row is not None and row.used_at is not None and row.family_id:
            self.tokens.revoke_family(row.family_id)
        return None

    def metadata(self) -> dict:
        """RFC 8414 authorization server metadata, validated by Authlib."""
        base = self.issuer
        metadata = AuthorizationServerMetadata({
            "issuer": base,
            "authorization_endpoint": base + "/oauth/authorize",
            "token_endpoint": base + "/oauth/token",
            "revocation_endpoint": base + "/oauth/revoke",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      "client_credentials"],
            "token_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            "revocation_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
            "revocation_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256",
                                                                      "EdDSA"],
            "code_challenge_methods_supported": ["S256"],
            "service_documentation": base + "/api/docs",
            "ui_locales_supported": ["ja", "en"],
        })
        metadata.validate()
        return dict(metadata)


