"""The national operator's area (/operator/): applications to join, the sites' lifecycle,
the national settings and the terms of use."""
from pyramid.authorization import DENY_ALL, Allow
from sqlalchemy import select

from ..models import Site
from ..permissions import Permissions as P
from .oauth import NationalClients


class OperatorArea:
    __name__ = "operator"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request

    __acl__ = [
        (Allow, "role:operator", (P.OPERATOR_VIEW, P.OPERATOR_DECIDE, P.OPERATOR_SETTINGS)),
        DENY_ALL,
    ]

    def __getitem__(self, code):
        if code == "clients":
            return NationalClients(self, self.request)
        site = self.request.dbsession.scalar(select(Site).where(Site.code == code))
        if site is None:
            raise KeyError(code)
        return OperatedSite(self, site)


class OperatedSite:
    """A site seen by the operator, in any state (inherits the area's ACL)."""

    def __init__(self, parent, site):
        self.__parent__ = parent
        self.__name__ = site.code
        self.site = site
