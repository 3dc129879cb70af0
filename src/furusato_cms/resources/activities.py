"""Contributor activities under a site: /s/{code}/projects/{id}/sessions/{id}/…,
and the site's partner organisations (/s/{code}/partners/{id})."""
from pyramid.authorization import Allow, Deny, Everyone
from sqlalchemy import select

from ..models import GENERIC_PLAN, ActivitySession, PartnerOrganisation, Project
from ..permissions import Permissions as P
from ..security import partner_principal
from .base import SiteChild, SiteItemContainer, is_number

PARTNER_PROJECT_PERMISSIONS = (P.PROJECT_MANAGE, P.ATTENDANCE_RECORD)


class PartnerResource:
    def __init__(self, parent, partner):
        self.__parent__ = parent
        self.__name__ = str(partner.id)
        self.partner = partner
        self.site = parent.site


class PartnersContainer(SiteItemContainer):
    """関係団体: managed by the site admin (``site:partners:manage``)."""

    __name__ = "partners"
    model = PartnerOrganisation
    item_class = PartnerResource


class ProjectsContainer(SiteChild):
    __name__ = "projects"

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        project = self.request.dbsession.scalar(
            select(Project).where(Project.id == int(name), Project.site_id == self.site.id)
            .execution_options(**GENERIC_PLAN)
        )
        if project is None:
            raise KeyError(name)
        return ProjectResource(self, project, self.request)


class ProjectResource:
    """A project. Public (and open to applications and check-in by registrants) while
    published and inside its dates on an active site; a partner's staff manage their
    own organisation's projects; the site's coordinators manage all (site ACL)."""

    def __init__(self, parent, project, request):
        self.__parent__ = parent
        self.__name__ = str(project.id)
        self.project = project
        self.site = parent.site
        self.request = request

    @property
    def __acl__(self):
        acl = []
        if self.project.partner_id is not None:
            acl.append(
                (Allow, partner_principal(self.project.partner_id), PARTNER_PROJECT_PERMISSIONS)
            )
        if self.site.is_public and self.project.is_visible_at(self.request.clock()):
            acl.append((Allow, Everyone, P.VIEW))
            acl.append((Allow, "kind:registrant", (P.SESSION_APPLY, P.CHECK_IN)))
        else:
            acl.append((Deny, Everyone, (P.VIEW, P.SESSION_APPLY, P.CHECK_IN)))
        return acl

    def __getitem__(self, name):
        if name == "sessions":
            return SessionsContainer(self, self.request)
        raise KeyError(name)


class SessionsContainer:
    __name__ = "sessions"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request
        self.project = parent.project
        self.site = parent.site

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        session = self.request.dbsession.scalar(
            select(ActivitySession).where(
                ActivitySession.id == int(name), ActivitySession.project_id == self.project.id
            )
        )
        if session is None:
            raise KeyError(name)
        return SessionResource(self, session)


class SessionResource:
    """A session; views: qr.svg, qr.png, poster.pdf, attendance, apply … (inherits ACLs)."""

    def __init__(self, parent, session):
        self.__parent__ = parent
        self.__name__ = str(session.id)
        self.session = session
        self.project = parent.project
        self.site = parent.site
