"""OAuth 2.0 for the open API (外部アプリ連携): clients, consents, tokens, scopes.

The contract API views code against
=====================================

- **Who calls.** On ``/api/v1/*`` a request is authenticated only by
  ``Authorization: Bearer <access token>`` (the sign-in cookie is ignored under ``/api/v1/``,
  so API views need no CSRF token). ``request.api_grant`` is ``None`` (no token, or a token
  that is unknown, expired, revoked, of a suspended client or of a disabled account) or an
  :class:`ApiGrant` with

  - ``.client`` — the :class:`~furusato_cms.models.OAuthClient`;
  - ``.account`` — the :class:`~furusato_cms.models.Account` the token acts for, or
    ``None`` for a municipality's client-credentials token;
  - ``.site_id`` — the client's site for a municipal client, else ``None``;
  - ``.scopes`` — a ``frozenset`` of scope names (see :mod:`.scopes`).

- **Principals** (``security.grant_principals``). Such a request holds
  ``oauth:client:<client_id>``; when the token acts for a person ``account:<id>`` (with
  ``Authenticated``) and ``oauth:scope:<scope>`` per registrant scope; for a municipal
  client ``oauth:site:<site id>``, and ``oauth:scope:<scope>`` and
  ``oauth:site:<site id>:scope:<scope>`` per site scope. Nothing else: no ``kind:``, staff or operator principal comes from a token.

- **Needing a scope.** Give the path in ``openapi.yaml`` a root factory and the view the
  scope's permission (``Permissions.API_*``, the value ``api:scope:<name>``)::

      /me:
        x-pyramid-route-name: api_me
        x-pyramid-root-factory: furusato_cms.resources.api.ApiContext
      /sites/{code}/registrations:
        x-pyramid-route-name: api_site_registrations
        x-pyramid-root-factory: furusato_cms.resources.api.ApiSiteContext

      @view_config(route_name="api_me", renderer="json", openapi=True,
                   permission=P.API_PROFILE)

  ``ApiContext`` (a path without a site) allows each scope's permission to a token that
  holds the scope: registrant scopes come only with a person's token, site scopes only
  with a municipal client's (the view acts on ``request.api_grant.site_id``).
  ``ApiSiteContext`` (the path's ``{code}`` site as ``.site``, None when no active site
  has the code) allows the site scopes' permissions only to a municipal client *of that
  site*, the registrant scopes' to a person's token holding them, and
  ``Permissions.VIEW`` to everyone. Anything else is denied. Either way the view still
  checks that what it touches is the person's own (or the grant's site's).

- **Refusals** are problem+json (``views/api.py``): no or a bad token → 401 with
  ``WWW-Authenticate: Bearer`` (``error="invalid_token"`` when a token was sent, whatever
  the endpoint); a token without the scope → 403 with ``WWW-Authenticate: Bearer
  error="insufficient_scope", scope="<needed>"``; another site's client → 403.

- **Limits and audit.** Every token-authenticated request counts against the rate limit
  (``furusato.api_rate_per_minute`` per client, per client and person for a person's
  token): 429 with ``Retry-After``. A municipal client's read of personal data must call
  ``furusato_cms.views.oauth_api.audit_api_read(request, account_ids, what)``.

- **Tests** need not run the flow: ``tests/oauth_factories.py`` has ``make_client`` and
  ``make_token`` (returns the raw bearer token).
"""
from .scopes import REGISTRANT_SCOPES, SCOPES, SITE_SCOPES, Scope, scope_list, scope_string
from .tokens import ApiGrant, IssuedToken, TokenService, new_secret

__all__ = [
    "ApiGrant", "IssuedToken", "TokenService", "new_secret", "SCOPES", "Scope",
    "REGISTRANT_SCOPES", "SITE_SCOPES", "scope_list", "scope_string", "bearer_token",
]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header ("" when the scheme is Bearer
    but no token follows), or None when the header is absent or of another scheme."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()
