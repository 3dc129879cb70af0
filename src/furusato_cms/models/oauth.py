"""OAuth 2.0 for the open API (外部アプリ連携): registered clients, authorization codes,
tokens, a person's consents, and the per-client request windows of the rate limit.

Secrets are never stored: client secrets, authorization codes, access and refresh tokens
are random strings of 32 bytes (256 bits) kept only as their SHA-256 hex digest
(``services.authentication.hash_token``). A slow hash (argon2) buys nothing for values
that cannot be guessed, and would cost ~50 ms on every token request.

The request-side contract (who a bearer token is, its principals, the scope checks) is in
``services/oauth/__init__.py``.
"""
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base

CLIENT_KINDS = ("public", "confidential")
CLIENT_AUTH_METHODS = ("none", "client_secret", "private_key_jwt")
"""How a client proves itself at the token endpoint: a public client (a phone app) not at
all (PKCE protects its codes); a confidential one by its secret (``client_secret_basic``
or ``client_secret_post``) or by a JWT signed with a key of its registered JWKS
(``private_key_jwt``, RFC 7523)."""


class OAuthClient(Base):
    """An application registered to use the API (登録アプリ).

    ``site_id`` None: a national app, registered by the operator (国). Otherwise the app of
    that site, registered by its site admin; only such clients may hold the ``site.*``
    scopes, and their client-credentials tokens act for that site only.
    """

    __tablename__ = "oauth_clients"
    __table_args__ = (
        CheckConstraint(f"kind IN {CLIENT_KINDS!r}", name="kind"),
        CheckConstraint(f"auth_method IN {CLIENT_AUTH_METHODS!r}", name="auth_method"),
        CheckConstraint("(kind = 'public') = (auth_method = 'none')", name="public_no_auth"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    """The public identifier the app sends (random, never reused)."""
    name: Mapped[str] = mapped_column(String(100))
    """The app's name, shown on the consent screen."""
    owner_name: Mapped[str] = mapped_column(String(200))
    """Who runs the app (e.g. 長野市 or the company operating it), shown on the consent screen."""
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), default=None, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    auth_method: Mapped[str] = mapped_column(String(20), default="none")
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    """Exact redirect URIs; an authorization request must name one of them character for
    character."""
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    """The scopes this client may ask for (services.oauth.scopes names them all)."""
    secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    secret_created_at: Mapped[datetime | None] = mapped_column(default=None)
    jwks: Mapped[dict | None] = mapped_column(JSON, default=None)
    """The public keys (a JWK Set) that verify the client's ``private_key_jwt`` assertions."""
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)
    """A suspended client gets no tokens, and the tokens it has stop working at once."""
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None, index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    site = relationship("Site")

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def is_municipal(self) -> bool:
        return self.site_id is not None

    def __repr__(self):
        return f"<OAuthClient {self.client_id}>"


class OAuthAuthorizationCode(Base):
    """A code handed to the app after the person approved it: valid a few minutes and
    exchanged once (a conditional UPDATE of ``used_at`` claims it). When a used code comes
    back, the tokens issued for it (``family_id``) are revoked (RFC 6749 §4.1.2)."""

    __tablename__ = "oauth_authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(500))
    """Space-separated, as OAuth writes scopes."""
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10), default="S256")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    family_id: Mapped[str | None] = mapped_column(String(32), default=None)
    """The token family issued for this code, once exchanged."""


class OAuthToken(Base):
    """One issue of an access token, with its refresh token when it has one.

    Every refresh rotates: the used row gets ``refreshed_at`` and a new row of the same
    ``family_id`` is issued. A refresh token presented again after it was rotated means a
    copy exists elsewhere, so every row of the family is revoked. Access tokens live at
    most an hour; ``account_id`` is None for client-credentials tokens (a municipality's
    server acting for its site).
    """

    __tablename__ = "oauth_tokens"
    __table_args__ = (Index("ix_oauth_tokens_account_id_client_pk", "account_id", "client_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), default=None)
    scope: Mapped[str] = mapped_column(String(500))
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    issued_at: Mapped[datetime]
    access_expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    refreshed_at: Mapped[datetime | None] = mapped_column(default=None)
    """When this row's refresh token was exchanged for the next row (rotation)."""
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    client = relationship("OAuthClient")
    account = relationship("Account")


class OAuthConsent(Base):
    """What a person allowed an app (連携の許可): the scopes, and when. Revoking it on
    /my/apps deletes the row and revokes the app's tokens for the person."""

    __tablename__ = "oauth_consents"
    __table_args__ = (UniqueConstraint("account_id", "client_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    client_pk: Mapped[int] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(500))
    granted_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    client = relationship("OAuthClient")


class ApiRateWindow(Base):
    """Requests counted in the current one-minute window of a rate-limit key (a client, or
    a client acting for one person), shared by every app process through the database."""

    __tablename__ = "api_rate_windows"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_started_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=0)


class OAuthAssertionJti(Base):
    """The ``jti`` of each ``private_key_jwt`` client assertion accepted, so none is
    accepted twice (RFC 7523 §3); rows past ``expires_at`` may be deleted."""

    __tablename__ = "oauth_assertion_jtis"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    """``<client_id>:<jti>``."""
    expires_at: Mapped[datetime]
