"""Registering apps (アプリの登録): the operator registers national apps, a site admin
their site's apps. Secrets are shown once (only their hash is kept) and can be rotated;
a suspended client gets no token and its tokens stop working. Every change is audited.

Redirect URIs follow RFC 8252 for apps on phones and PCs: ``https://…``, ``http://`` only
on the loopback address (127.0.0.1, [::1] or localhost, any port), or a private-use scheme
in reverse-domain form (``jp.example.app:/callback``); never a fragment. They are matched
exactly.
"""
import ipaddress
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from ...i18n import _
from ...models import OAuthClient
from ..audit import AuditLog
from ..authentication import hash_token
from ..errors import InvalidInput
from .scopes import REGISTRANT_SCOPES, SITE_SCOPES, scope_list
from .tokens import SECRET_PREFIX, new_secret

MAX_REDIRECT_URIS = 10
KIND_LABELS = {"public": _("Public (an app on phones or PCs, no secret)"),
               "confidential": _("Confidential (a server that keeps a secret or a key)")}
AUTH_METHOD_LABELS = {"none": _("None (PKCE)"), "client_secret": _("Client secret"),
                      "private_key_jwt": _("Signed JWT (private_key_jwt)")}


class ClientError(InvalidInput):
    """A registration the rules refuse; ``field`` names the form field."""


@dataclass(frozen=True)
class Registered:
    client: OAuthClient
    secret: str | None
    """The client secret in clear, to be shown once; None when the client has none."""


def redirect_uri_problem(uri: str):
    """Why ``uri`` cannot be a redirect URI, or None when it can."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return _("${uri} is not an address.", mapping={"uri": uri})
    if parts.fragment or "#" in uri or len(uri) > 500:
        return _("${uri} must have no #fragment and at most 500 characters.", mapping={"uri": uri})
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname:
        try:
            if parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback:
                return None
        except ValueError:
            pass
        return _("${uri}: plain http is allowed only on the loopback address (127.0.0.1).",
                 mapping={"uri": uri})
    if "." in parts.scheme and parts.path.startswith("/") and not parts.netloc:
        return None
    return _("${uri} must start with https://, http://127.0.0.1 or an app scheme such as "
             "jp.example.app:/callback.", mapping={"uri": uri})


def public_jwks(text: str) -> dict:
    """A JWK Set of public keys only (a private key pasted by mistake is refused)."""
    try:
        data = json.loads(text)
        if isinstance(data, dict) and "keys" not in data:
            data = {"keys": [data]}
        KeySet.import_key_set(data)
    except (ValueError, TypeError, JoseError):
        raise ClientError(_("Paste a JWK Set (JSON with \"keys\") of public keys."),
                          "jwks") from None
    if not data["keys"] or any("d" in key or "k" in key for key in data["keys"]):
        raise ClientError(_("Only public keys: this key set holds a private or secret key. "
                            "Keep that one on your server."), "jwks")
    return data


class ClientService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)

    def clients(self, site_id: int | None) -> list:
        """The site's clients, or the national ones (``site_id`` None), newest first."""
        where = (OAuthClient.site_id.is_(None) if site_id is None
                 else OAuthClient.site_id == site_id)
        return list(self.dbsession.scalars(select(OAuthClient).where(where)
                                           .order_by(OAuthClient.id.desc())))

    def find(self, site_id: int | None, client_id: str) -> OAuthClient | None:
        """A client by its public id, only among the site's (or the national) ones."""
        where = (OAuthClient.site_id.is_(None) if site_id is None
                 else OAuthClient.site_id == site_id)
        return self.dbsession.scalar(select(OAuthClient).where(
            where, OAuthClient.client_id == client_id))

    def register(self, actor, *, site=None, name, owner_name, kind, auth_method="none",
                 redirect_uris=(), scopes=(), jwks=None) -> Registered:
        redirect_uris = [uri for uri in dict.fromkeys(u.strip() for u in redirect_uris) if uri]
        scopes = scope_list(" ".join(scopes))
        self._check(site, kind, auth_method, redirect_uris, scopes, jwks)
        now = self.clock()
        secret = new_secret(SECRET_PREFIX) if auth_method == "client_secret" else None
        client = OAuthClient(
            client_id="fc_" + secrets.token_urlsafe(16), name=name, owner_name=owner_name,
            site_id=site.id if site is not None else None, kind=kind, auth_method=auth_method,
            redirect_uris=redirect_uris, scopes=scopes,
            secret_hash=hash_token(secret) if secret else None,
            secret_created_at=now if secret else None,
            jwks=public_jwks(jwks) if auth_method == "private_key_jwt" else None,
            created_by_id=actor.account_id, created_at=now, updated_at=now)
        self.dbsession.add(client)
        self.dbsession.flush()
        self.audit.record(actor, "oauth_client.register", site_id=client.site_id, target=client,
                          client_id=client.client_id, name=name, kind=kind, scopes=scopes,
                          redirect_uris=redirect_uris)
        return Registered(client, secret)

    def _check(self, site, kind, auth_method, redirect_uris, scopes, jwks):
        if kind not in ("public", "confidential"):
            raise ClientError(_("Choose the kind of app."), "kind")
        if (kind == "public") != (auth_method == "none"):
            raise ClientError(_("A public app has no secret; a confidential one needs a "
                                "secret or a key."), "auth_method")
        if auth_method == "private_key_jwt" and not (jwks or "").strip():
            raise ClientError(_("Paste the public keys (JWK Set) of your server."), "jwks")
        if len(redirect_uris) > MAX_REDIRECT_URIS:
            raise ClientError(_("At most ${n} redirect URIs.", mapping={"n": MAX_REDIRECT_URIS}),
                              "redirect_uris")
        for uri in redirect_uris:
            problem = redirect_uri_problem(uri)
            if problem is not None:
                raise ClientError(problem, "redirect_uris")
        if not scopes:
            raise ClientError(_("Choose at least one scope."), "scopes")
        if set(scopes) & SITE_SCOPES and (site is None or kind != "confidential"):
            raise ClientError(_("Only a confidential app of a local government may read or "
                                "write the site's data."), "scopes")
        if set(scopes) & REGISTRANT_SCOPES and not redirect_uris:
            raise ClientError(_("An app that acts for people needs at least one redirect "
                                "URI."), "redirect_uris")

    def rotate_secret(self, actor, client) -> str:
        """A new secret, shown once; the old one stops working at once."""
        if client.auth_method != "client_secret":
            raise ClientError(_("This app has no secret."))
        secret = new_secret(SECRET_PREFIX)
        client.secret_hash, client.secret_created_at = hash_token(secret), self.clock()
        client.updated_at = self.clock()
        self.audit.record(actor, "oauth_client.rotate_secret", site_id=client.site_id,
                          target=client, client_id=client.client_id)
        return secret

    def set_suspended(self, actor, client, suspended: bool):
        """Suspend (its tokens stop working: the bearer check reads ``suspended_at``) or
        let it work again."""
        if suspended == client.suspended:
            return
        now = self.clock()
        client.suspended_at, client.updated_at = (now if suspended else None), now
        self.audit.record(actor, "oauth_client.suspend" if suspended else "oauth_client.resume",
                          site_id=client.site_id, target=client, client_id=client.client_id)
