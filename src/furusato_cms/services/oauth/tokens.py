"""Access and refresh tokens (アクセストークン): issue, look up, rotate, revoke.

Tokens are opaque random strings; only their SHA-256 is stored, so a copy of the database
hands out no working token. Refresh tokens rotate on every use, and a refresh token used a
second time revokes its whole family (RFC 9700 §4.14: a stolen copy was used, by the thief
or by the app, and we cannot tell which).
"""
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from ...models import Account, OAuthClient, OAuthToken, Site
from ..authentication import hash_token
from .scopes import scope_list

ACCESS_PREFIX = "fsa_"
REFRESH_PREFIX = "fsr_"
SECRET_PREFIX = "fss_"
CODE_PREFIX = "fsc_"
MAX_ACCESS_SECONDS = 3600
"""An access token lives at most an hour, whatever the settings say."""


def new_secret(prefix: str) -> str:
    """32 random bytes, URL-safe, with a prefix that says what it is (so secret scanners
    and people reading a log line recognise it)."""
    return prefix + secrets.token_urlsafe(32)


def new_family_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class ApiGrant:
    """What a valid bearer token lets a request do (``request.api_grant``)."""

    client: OAuthClient
    account: Account | None
    site_id: int | None
    scopes: frozenset
    token: OAuthToken


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    refresh_token: str | None
    expires_in: int
    scope: str
    row: OAuthToken


GRANT_QUERY = (
    select(OAuthToken, OAuthClient, Account, Site.state)
    .join(OAuthClient, OAuthClient.id == OAuthToken.client_pk)
    .outerjoin(Account, Account.id == OAuthToken.account_id)
    .outerjoin(Site, Site.id == OAuthClient.site_id)
)


class TokenService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    @property
    def access_seconds(self) -> int:
        return max(60, min(MAX_ACCESS_SECONDS, self.settings.oauth_access_token_seconds))

    def issue(self, client, account_id, scope, *, refresh=True, family_id=None) -> IssuedToken:
        """A new access token (and refresh token unless ``refresh`` is false) in
        ``family_id``'s family, or a new family."""
        token = {"access_token": new_secret(ACCESS_PREFIX), "scope": scope,
                 "refresh_token": new_secret(REFRESH_PREFIX) if refresh else None}
        row = self.store(client, account_id, token, family_id or new_family_id())
        return IssuedToken(token["access_token"], token["refresh_token"], self.access_seconds,
                           row.scope, row)

    def store(self, client, account_id, token: dict, family_id: str) -> OAuthToken:
        """Keep the hashes of a token response's tokens (never the tokens)."""
        now = self.clock()
        refresh_token = token.get("refresh_token")
        row = OAuthToken(
            client_pk=client.id, account_id=account_id,
            scope=" ".join(scope_list(token.get("scope"))),
            access_token_hash=hash_token(token["access_token"]),
            refresh_token_hash=hash_token(refresh_token) if refresh_token else None,
            family_id=family_id, issued_at=now,
            access_expires_at=now + timedelta(seconds=self.access_seconds),
            refresh_expires_at=(now + timedelta(days=self.settings.oauth_refresh_token_days)
                                if refresh_token else None),
        )
        self.dbsession.add(row)
        self.dbsession.flush()
        return row

    def grant_for(self, access_token: str) -> ApiGrant | None:
        """The grant of a bearer token, or None when it is unknown, expired, revoked, its
        client suspended, its person's account disabled, or its municipality's site no
        longer active. One query."""
        if not access_token:
            return None
        row = self.dbsession.execute(
            GRANT_QUERY.where(OAuthToken.access_token_hash == hash_token(access_token))
        ).one_or_none()
        if row is None:
            return None
        token, client, account, site_state = row
        if (token.revoked_at is not None or token.access_expires_at <= self.clock()
                or client.suspended_at is not None
                or (token.account_id is not None
                    and (account is None or account.disabled_at is not None))
                or (client.site_id is not None and site_state != "active")):
            return None
        return ApiGrant(client=client, account=account, site_id=client.site_id,
                        scopes=frozenset(token.scope.split()), token=token)

    def by_refresh_token(self, refresh_token: str, client) -> OAuthToken | None:
        if not refresh_token:
            return None
        return self.dbsession.scalar(select(OAuthToken).where(
            OAuthToken.refresh_token_hash == hash_token(refresh_token),
            OAuthToken.client_pk == client.id))

    def claim_refresh(self, token: OAuthToken) -> bool:
        """Mark a refresh token used, exactly once even under parallel requests (one
        conditional UPDATE). False when it was used or revoked already, or expired: a
        used one revokes its family (reuse detection)."""
        now = self.clock()
        claimed = self.dbsession.execute(
            update(OAuthToken).where(
                OAuthToken.id == token.id, OAuthToken.refreshed_at.is_(None),
                OAuthToken.revoked_at.is_(None), OAuthToken.refresh_expires_at > now)
            .values(refreshed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if not claimed:
            self.dbsession.refresh(token)
            if token.refreshed_at is not None:
                self.revoke_family(token.family_id)
        return claimed

    def revoke_family(self, family_id: str):
        self.dbsession.execute(
            update(OAuthToken).where(OAuthToken.family_id == family_id,
                                     OAuthToken.revoked_at.is_(None))
            .values(revoked_at=self.clock()).execution_options(synchronize_session=False))

    def revoke_token(self, token: str, client) -> bool:
        """RFC 7009: revoke the family of an access or refresh token of this client.
        False when the token is not one of this client's (which the endpoint does not
        tell the caller)."""
        digest = hash_token(token or "")
        row = self.dbsession.scalar(select(OAuthToken).where(
            OAuthToken.client_pk == client.id,
            (OAuthToken.access_token_hash == digest) | (OAuthToken.refresh_token_hash == digest)))
        if row is None:
            return False
        self.revoke_family(row.family_id)
        return True

    def revoke_for(self, account_id: int, client_pk: int):
        """Every token of one app for one person (revoking the app on /my/apps)."""
        self.dbsession.execute(
            update(OAuthToken).where(OAuthToken.account_id == account_id,
                                     OAuthToken.client_pk == client_pk,
                                     OAuthToken.revoked_at.is_(None))
            .values(revoked_at=self.clock()).execution_options(synchronize_session=False))
