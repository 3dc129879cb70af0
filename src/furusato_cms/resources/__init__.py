"""Traversal: Root -> s -> Site -> containers -> items. Each resource computes its ``__acl__``
from the database state and the roles; anything not allowed is denied."""
from pyramid.authorization import ALL_PERMISSIONS, DENY_ALL, Allow, Authenticated, Everyone

from ..permissions import Permissions as P
from .activities import ProjectResource, ProjectsContainer
from .checkin import read_scan_with_identity
from .dashboard import NationalDashboard
from .my import MyArea
from .oauth import OAuthArea, WellKnown
from .operator import OperatorArea
from .site import SiteContainer, SiteResource


class Root:
    __name__ = ""
    __parent__ = None

    def __init__(self, request):
        self.request = request

    @property
    def __acl__(self):
        return [
            (Allow, Everyone, (P.VIEW, P.JOIN_APPLY, P.SIGN_UP)),
            (Allow, Authenticated, P.ACCOUNT_MANAGE),
            DENY_ALL,
        ]

    def __getitem__(self, name):
        if name == "s":
            return SiteContainer(self, self.request)
        if name == "operator":
            return OperatorArea(self, self.request)
        if name == "my":
            return MyArea(self, self.request)
        if name == "stats":
            return NationalDashboard(self, self.request)
        if name == "oauth":
            return OAuthArea(self, self.request)
        if name == ".well-known":
            return WellKnown(self, self.request)
        if name == "checkin":
            read_scan_with_identity(self.request)
        raise KeyError(name)


def root_factory(request):
    return Root(request)


def project_resource(request, project):
    """The resource of a project already loaded with its site: the lineage traversal
    would build (so the project's and the site's ACLs decide, as for any view), without
    looking the rows up again."""
    site = SiteResource(request.root["s"], project.site, request)
    return ProjectResource(ProjectsContainer(site, request), project, request)


__all__ = ["Root", "root_factory", "project_resource", "ALL_PERMISSIONS", "Everyone"]
