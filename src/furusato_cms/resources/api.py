"""Route factories of the open API's authorised paths (see ``services/oauth`` for the
whole contract). Name one as the path's ``x-pyramid-root-factory`` in openapi.yaml and
give the view the scope's permission (``Permissions.API_*``); everything else is denied.
"""
from pyramid.authorization import DENY_ALL, Allow, Everyone
from sqlalchemy import select

from ..models import Site
from ..permissions import Permissions as P
from ..security import TOKEN_PRINCIPAL
from ..services.oauth.scopes import REGISTRANT_SCOPES, SCOPES, SITE_SCOPES


def scope_permission(scope: str) -> P:
    """The permission an API view names to need ``scope``."""
    return P(SCOPES[scope].permission)


class ApiContext:
    """A path without a site in it: each scope's permission to a token holding the scope
    — registrant scopes come only with a person's token, site scopes only with a
    municipal client's (whose view then acts on ``request.api_grant.site_id``) — and
    ``API_TOKEN`` to any valid token."""

    __name__ = ""
    __parent__ = None

    def __init__(self, request):
        self.request = request

    @property
    def __acl__(self):
        return [
            (Allow, Everyone, P.VIEW),
            (Allow, TOKEN_PRINCIPAL, P.API_TOKEN),
            *[(Allow, f"oauth:scope:{name}", scope_permission(name)) for name in SCOPES],
            DENY_ALL,
        ]


class ApiSiteContext:
    """A path under ``/sites/{code}``: the site scopes' permissions only to a municipal
    client of *this* site holding the scope; the registrant scopes' to a person's token
    holding them (registering with the site, applying for its sessions); the public reads
    to everyone. ``site`` is the active site with the path's code, or None (the view
    answers 404)."""

    __name__ = ""
    __parent__ = None

    def __init__(self, request):
        self.request = request
        code = (request.matchdict or {}).get("code", "")
        self.site = request.dbsession.scalar(
            select(Site).where(Site.code == code, Site.state == "active")
        ) if code else None

    @property
    def __acl__(self):
        acl = [(Allow, Everyone, P.VIEW)]
        acl += [(Allow, f"oauth:scope:{name}", scope_permission(name))
                for name in sorted(REGISTRANT_SCOPES)]
        if self.site is not None:
            acl += [(Allow, f"oauth:site:{self.site.id}:scope:{name}", scope_permission(name))
                    for name in sorted(SITE_SCOPES)]
        acl.append(DENY_ALL)
        return acl
