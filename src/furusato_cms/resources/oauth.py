"""Resources of OAuth's pages: the authorization server's endpoints (/oauth/…, and the
metadata under /.well-known/), and the registered apps of the operator
(/operator/clients/) and of a site (/s/{code}/clients/), each app at its client id."""
from pyramid.authorization import DENY_ALL, Allow, Everyone

from ..permissions import Permissions as P
from ..security import site_principal
from ..services.oauth.clients import ClientService


class OAuthArea:
    """/oauth/: token and revocation are for any app (the app authenticates itself);
    the consent screen only for a signed-in registrant (others are sent to sign in)."""

    __name__ = "oauth"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request

    __acl__ = [(Allow, Everyone, P.VIEW), (Allow, "kind:registrant", P.REGISTRANT_SELF),
               DENY_ALL]


class WellKnown:
    """/.well-known/: the authorization server metadata (RFC 8414)."""

    __name__ = ".well-known"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request

    __acl__ = [(Allow, Everyone, P.VIEW), DENY_ALL]


class ClientResource:
    """One registered app, found among its container's only."""

    def __init__(self, parent, client):
        self.__parent__ = parent
        self.__name__ = client.client_id
        self.client = client
        self.site = parent.site


class ClientsContainer:
    """The registered apps of ``site`` (a site admin's), or the national ones (the
    operator's) when ``site`` is None."""

    __name__ = "clients"

    def __init__(self, parent, request, site=None):
        self.__parent__ = parent
        self.request = request
        self.site = site

    def __getitem__(self, client_id):
        client = self.request.service(ClientService).find(
            self.site.id if self.site is not None else None, client_id)
        if client is None:
            raise KeyError(client_id)
        return ClientResource(self, client)


class NationalClients(ClientsContainer):
    __acl__ = [(Allow, "role:operator", P.OAUTH_CLIENTS_MANAGE), DENY_ALL]


class SiteClients(ClientsContainer):
    """A site admin's, while the site is active or suspended (as every staff screen)."""

    def __init__(self, parent, request):
        super().__init__(parent, request, parent.site)

    @property
    def __acl__(self):
        if self.site.state not in ("active", "suspended"):
            return [DENY_ALL]
        return [(Allow, site_principal(self.site.id, "site_admin"), P.OAUTH_CLIENTS_MANAGE),
                DENY_ALL]
