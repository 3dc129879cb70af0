"""Sites (/s/{code}/) and what they contain."""
from pyramid.authorization import DENY_ALL, Allow, Everyone
from sqlalchemy import bindparam, select

from ..models import GENERIC_PLAN, Site
from ..models.compiled_reads import KnownBy
from ..models.site import SITE_COLUMNS, SiteRecord
from ..models.staff import STAFF_ROLES
from ..permissions import Permissions as P
from ..replicas import has_replicas
from ..security import AUTH_COOKIE, site_principal
from ..services.paging import Read, finished, read_first_with, reads_in_one_statement
from ..services.projects import ProjectService
from ..services.publishing import PublicContent
from ..services.support import SupportService
from .activities import PartnersContainer, ProjectsContainer
from .community import ConsultationsContainer, MonitorSurveysContainer, RoomContainer
from .content import ImagesContainer, IntroResource, PostsContainer
from .imports import ImportsContainer
from .members import MembersContainer
from .needs import NeedsContainer
from .oauth import SiteClients
from .premium import PremiumArea
from .staff import StaffContainer
from .support import SupportContainer
from .survey import SurveyContainer
from .webhooks import WebhooksContainer

SITE_ADMIN_PERMISSIONS = (
    P.SITE_DASHBOARD,
    P.SITE_SETTINGS,
    P.SITE_STAFF,
    P.CONTENT_EDIT,
    P.CONTENT_PUBLISH,
    P.SURVEY_MANAGE,
    P.REGISTRATIONS_EXPORT,
    P.CONSULTATION_HANDLE,
    P.MONITOR_SURVEY_MANAGE,
    P.ROOM_MODERATE,
    P.PARTNER_MANAGE,
    P.PROJECT_CREATE,
    P.PROJECT_MANAGE,
    P.PROJECT_DESIGNATE,
    P.ATTENDANCE_RECORD,
    P.ATTENDANCE_IMPORT,
    P.MEMBERS_INVITE,
    P.SUPPORT_EDIT,
    P.SUPPORT_HANDLE,
    P.PREMIUM_REVIEW,
    P.STATS_VIEW,
)
EDITOR_PERMISSIONS = (
    P.SITE_DASHBOARD, P.CONTENT_EDIT, P.SURVEY_MANAGE, P.SUPPORT_EDIT,
    P.MONITOR_SURVEY_MANAGE, P.STATS_VIEW,
)
REVIEWER_PERMISSIONS = (P.CONTENT_PUBLISH,)
COORDINATOR_PERMISSIONS = (
    P.SITE_DASHBOARD,
    P.CONSULTATION_HANDLE,
    P.ROOM_MODERATE,
    P.PROJECT_CREATE,
    P.PROJECT_MANAGE,
    P.PROJECT_DESIGNATE,
    P.ATTENDANCE_RECORD,
    P.ATTENDANCE_IMPORT,
    P.MEMBERS_INVITE,
    P.SUPPORT_HANDLE,
    P.PREMIUM_REVIEW,
    P.STATS_VIEW,
)
PARTNER_PERMISSIONS = (P.SITE_DASHBOARD, P.PROJECT_CREATE)
"""A partner's rights over its own projects come from the project's ACL (partner:<id>)."""
STAFF_STATES = ("active", "suspended")
SITE_BY_CODE = select(Site).where(Site.code == bindparam("code")).execution_options(
    **GENERIC_PLAN)
"""Every request under /s/ runs this (or the next): prepared once, not built on each
request."""
SITE_RECORD_BY_CODE = (select(*SITE_COLUMNS).where(Site.code == bindparam("code"))
                       .execution_options(**GENERIC_PLAN))
SITE_ID_BY_CODE = select(Site.id).where(Site.code == bindparam("code"))
FEATURED = 3
"""Projects and support measures shown on a site's page (the rest are one link away)."""


def reads_anonymously(request) -> bool:
    """A GET or HEAD without a sign-in cookie: nobody here can change a site."""
    return request.method in ("GET", "HEAD") and AUTH_COOKIE not in request.cookies


def front_page_reads(request, site, *, tag=None, page=1) -> list:
    """What the site's own page (サイトのページ) reads: its introduction, featured
    projects and support measures, and one page of its posts."""
    content = request.service(PublicContent)
    return [content.front_read(site),
            request.service(ProjectService).featured_read(site, FEATURED),
            request.service(SupportService).featured_measures_read(site, FEATURED),
            content.posts_read(site, tag=tag, page=page)]


class SiteContainer:
    __name__ = "s"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request

    __acl__ = [(Allow, Everyone, P.VIEW), DENY_ALL]

    def __getitem__(self, code):
        """The site as a ``SiteRecord`` for anonymous reads, else the mapped ``Site``."""
        if reads_anonymously(self.request):
            return self._read_anonymously(code)
        site = self.request.dbsession.scalar(SITE_BY_CODE, {"code": code})
        if site is None:
            raise KeyError(code)
        return SiteResource(self, site, self.request)

    def _read_anonymously(self, code):
        """The site's record; when its own page is asked for plainly (no tag, no page
        number) and reads combine, that page's lists in the same statement: the most
        visited page then costs one round trip, not two (issue 16). They are read before
        the view's permission check but only shown through it: a page that is not public
        answers as it would have. Where standbys serve public reads (replicas.py) the
        view reads the lists there instead, as before."""
        request = self.request
        dbsession = request.dbsession
        ahead = (front_page_reads(request, KnownBy(SITE_ID_BY_CODE, {"code": code}))
                 if self._front_page_asked(code) and reads_in_one_statement(dbsession)
                 and not has_replicas(request) else [])
        row, lists = read_first_with(
            dbsession, Read(SITE_RECORD_BY_CODE, {"code": code}, lambda rows: rows.first()), ahead)
        if row is None:
            raise KeyError(code)
        return SiteResource(self, SiteRecord(row), request,
                            front_page=finished(ahead, lists) or None)

    def _front_page_asked(self, code) -> bool:
        request = self.request
        return not request.GET and request.path_info == f"/s/{code}/"


class SiteResource:
    """A site. Public only while active and published; its staff preview its pages while
    it is in preparation (準備中) and keep their screens while it is suspended.
    ``front_page``: what ``front_page_reads`` gave, when it was read with the site."""

    def __init__(self, parent, site, request, *, front_page=None):
        self.__parent__ = parent
        self.__name__ = site.code
        self.site = site
        self.request = request
        self.front_page = front_page

    @property
    def __acl__(self):
        site = self.site
        acl = []
        if site.is_public:
            acl.append((Allow, Everyone, P.VIEW))
            acl.append((Allow, "kind:registrant", P.REGISTER))
        elif site.state == "active":
            acl += [(Allow, site_principal(site.id, role), P.VIEW) for role in STAFF_ROLES]
        if site.state in STAFF_STATES:
            acl += [
                (Allow, site_principal(site.id, "site_admin"), SITE_ADMIN_PERMISSIONS),
                (Allow, site_principal(site.id, "editor"), EDITOR_PERMISSIONS),
                (Allow, site_principal(site.id, "reviewer"), REVIEWER_PERMISSIONS),
                (Allow, site_principal(site.id, "coordinator"), COORDINATOR_PERMISSIONS),
                (Allow, site_principal(site.id, "partner"), PARTNER_PERMISSIONS),
            ]
        acl.append((Allow, "role:operator", (P.SITE_DASHBOARD, P.STATS_VIEW)))
        acl.append(DENY_ALL)
        return acl

    def __getitem__(self, name):
        children = {
            "clients": SiteClients,
            "intro": IntroResource,
            "posts": PostsContainer,
            "images": ImagesContainer,
            "staff": StaffContainer,
            "survey": SurveyContainer,
            "projects": ProjectsContainer,
            "partners": PartnersContainer,
            "imports": ImportsContainer,
            "members": MembersContainer,
            "needs": NeedsContainer,
            "consultations": ConsultationsContainer,
            "surveys": MonitorSurveysContainer,
            "room": RoomContainer,
            "support": SupportContainer,
            "premium": PremiumArea,
            "webhooks": WebhooksContainer,
        }
        if name not in children:
            raise KeyError(name)
        return children[name](self, self.request)


def find_site_resource(context):
    """The SiteResource in a context's lineage, or None (for the site's look on error pages)."""
    while context is not None:
        if isinstance(context, SiteResource):
            return context
        context = getattr(context, "__parent__", None)
    return None
