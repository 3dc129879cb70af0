"""Contributor activities (担い手活動): projects and their sessions.

A project is content: it goes through the posts' publishing workflow (draft → review
→ published → archived) and keeps versions, through ``PublishingService``; this
module adds what only projects have. A project belongs to the site or to one of its
partner organisations (関係団体); partner staff work on their own organisation's
projects only, which the resources' ACL and ``ProjectScope`` enforce.

``designated`` says whether attendance at the project counts for premium
registration. It starts from the partner's designation pattern (the site's own
projects: yes; pattern ① per project: no until the site designates it; pattern ②
all unless excluded: yes) and only the site changes it afterwards. Each attendance
stores the flag as it was when recorded, so a change counts from then on only.
Applications to sessions (申込) are in services/session_applications.py.
"""
import secrets
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, case, false, func, select
from sqlalchemy.orm import joinedload

from ..i18n import _
from ..interests import INTERESTS
from ..models import (
    GENERIC_PLAN,
    Account,
    ActivitySession,
    ContentItem,
    PartnerOrganisation,
    Project,
    SessionApplication,
)
from ..dates import LOCALES
from .audit import AuditLog
from .errors import Conflict, InvalidInput, NotAllowed
from .mail import Mail, localizer_for, queue_mail
from .notifications import NotificationService
from .paging import Page, Read, Slice, SortKey, fetch_page, fetch_slice, read_one, read_rows
from .publishing import NOW, TRANSITIONS, PublishingService, visible_at_now, visible_now
from .questions import keyed_questions
from .session_applications import ACTIVE_STATES, ApplicationService, Seats
from .session_texts import session_lines

PAGE_SIZE = 20
MANAGE_PAGE_SIZE = 50
CONDITIONS_MAX = 5000
PLACE_MAX = 300
CAPACITY_MAX = 10000
QUESTIONS_MAX = 10
QUESTION_MAX = 200
PROJECT_KIND = "event"
"""The posts' kind column, fixed for projects (a recruitment is an event)."""



@dataclass(frozen=True)
class ProjectScope:
    """Whose projects a staff member works on: the whole site (site admins and
    coordinators) or one partner organisation's (関係団体の職員)."""

    site_wide: bool
    partner_id: int | None = None

    def criteria(self):
        """SQL criteria limiting projects to this scope."""
        if self.site_wide:
            return ()
        if self.partner_id is None:
            return (false(),)
        return (Project.partner_id == self.partner_id,)


NEWEST_PROJECTS_FIRST = [SortKey(Project.id, True, int, lambda project: project.id)]


@dataclass(frozen=True, slots=True)
class SessionTimes:
    """When and where a session takes place (what a project's card says of it)."""

    starts_at: object
    ends_at: object
    place: str


@dataclass(frozen=True, slots=True)
class ProjectCard:
    """A visible project as the site's page shows it, with its next session (None when
    no session is coming)."""

    id: int
    title: str
    summary: str
    designated: bool
    next_session: SessionTimes | None


_CONTENT = ContentItem.__table__
_PROJECTS = Project.__table__
_SESSIONS = ActivitySession.__table__
_CANDIDATE = _SESSIONS.alias("candidate")
_NEXT_SESSION_ID = (
    select(_CANDIDATE.c.id)
    .where(_CANDIDATE.c.project_id == _PROJECTS.c.id, _CANDIDATE.c.ends_at > NOW,
           _CANDIDATE.c.cancelled_at.is_(None))
    .order_by(_CANDIDATE.c.starts_at, _CANDIDATE.c.id)
    .limit(1)
    .correlate(_PROJECTS)
    .scalar_subquery()
)
FEATURED_PROJECTS = (
    select(_PROJECTS.c.id, _CONTENT.c.title, _CONTENT.c.summary, _PROJECTS.c.designated,
           _SESSIONS.c.starts_at, _SESSIONS.c.ends_at, _SESSIONS.c.place)
    .select_from(
        _CONTENT.join(_PROJECTS, _PROJECTS.c.id == _CONTENT.c.id)
        .outerjoin(_SESSIONS, _SESSIONS.c.id == _NEXT_SESSION_ID)
    )
    .where(_CONTENT.c.site_id == bindparam("site_id"), *visible_at_now(_CONTENT))
    .order_by(_SESSIONS.c.starts_at.is_(None), _SESSIONS.c.starts_at,
              _CONTENT.c.published_at.desc(), _CONTENT.c.id.desc())
    .limit(bindparam("limit"))
    .execution_options(**GENERIC_PLAN)
)
"""The first visible projects in ``public_list``'s order (the soonest coming session
first), each with that session, in one prepared statement."""


def _project_cards(rows) -> list:
    return [
        ProjectCard(project_id, title, summary, designated,
                    None if starts_at is None else SessionTimes(starts_at, ends_at, place))
        for project_id, title, summary, designated, starts_at, ends_at, place in rows
    ]


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session as a project's public page shows it."""

    id: int
    starts_at: object
    ends_at: object
    place: str
    capacity: int | None
    application_required: bool
    cancelled_at: object


_APPLICATIONS = SessionApplication.__table__


def _holding(state):
    return (
        select(func.count()).where(_APPLICATIONS.c.session_id == _SESSIONS.c.id,
                                   _APPLICATIONS.c.state == state)
        .correlate(_SESSIONS).scalar_subquery()
    )


PROJECT_SESSIONS = (
    select(_SESSIONS.c.id, _SESSIONS.c.starts_at, _SESSIONS.c.ends_at, _SESSIONS.c.place,
           _SESSIONS.c.capacity, _SESSIONS.c.application_required, _SESSIONS.c.cancelled_at,
           *[_holding(state) for state in ACTIVE_STATES])
    .where(_SESSIONS.c.project_id == bindparam("project_id"), _SESSIONS.c.ends_at > NOW)
    .order_by(_SESSIONS.c.starts_at, _SESSIONS.c.id)
    .execution_options(**GENERIC_PLAN)
)
"""``upcoming_sessions`` of one project with ``seats`` counted, in one statement."""


SHOWN_DATES = 3
"""The coming dates a project's card in the list shows (the rest are counted)."""


@dataclass(frozen=True, slots=True)
class ListedProject:
    """A visible project as the site's list of projects shows it: its first coming
    sessions that are not cancelled (at most ``SHOWN_DATES``) and how many there are."""

    id: int
    title: str
    summary: str
    field: str
    designated: bool
    partner_name: str | None
    coming: list
    """``SessionTimes``, soonest first."""
    dates: int
    """Every coming session that is not cancelled, shown or not."""


_PARTNERS = PartnerOrganisation.__table__
_NEXT_START = (
    select(func.min(_CANDIDATE.c.starts_at))
    .where(_CANDIDATE.c.project_id == _PROJECTS.c.id, _CANDIDATE.c.ends_at > NOW,
           _CANDIDATE.c.cancelled_at.is_(None))
    .correlate(_PROJECTS)
    .scalar_subquery()
)


def _public_projects(by_field: bool):
    """``public_list``'s page (bind parameters site_id, now, limit, offset and, with
    ``by_field``, field) with each project's first coming dates and their count."""
    criteria = [_CONTENT.c.site_id == bindparam("site_id"), *visible_at_now(_CONTENT)]
    if by_field:
        criteria.append(_PROJECTS.c.field == bindparam("field"))
    listed = (
        select(_PROJECTS.c.id, _CONTENT.c.title, _CONTENT.c.summary, _PROJECTS.c.field,
               _PROJECTS.c.designated, _PARTNERS.c.name.label("partner_name"),
               _NEXT_START.label("next_start"), _CONTENT.c.published_at)
        .select_from(_CONTENT.join(_PROJECTS, _PROJECTS.c.id == _CONTENT.c.id)
                     .outerjoin(_PARTNERS, _PARTNERS.c.id == _PROJECTS.c.partner_id))
        .where(*criteria)
        .subquery("listed")
    )
    order = (listed.c.next_start.is_(None), listed.c.next_start, listed.c.published_at.desc(),
             listed.c.id.desc())
    page = (select(listed).order_by(*order)
            .limit(bindparam("limit")).offset(bindparam("offset")).cte("page"))
    coming = (
        select(_SESSIONS.c.project_id, _SESSIONS.c.starts_at, _SESSIONS.c.ends_at,
               _SESSIONS.c.place,
               func.row_number().over(partition_by=_SESSIONS.c.project_id,
                                      order_by=(_SESSIONS.c.starts_at, _SESSIONS.c.id))
               .label("n"),
               func.count().over(partition_by=_SESSIONS.c.project_id).label("dates"))
        .where(_SESSIONS.c.project_id.in_(select(page.c.id)), _SESSIONS.c.ends_at > NOW,
               _SESSIONS.c.cancelled_at.is_(None))
        .subquery("coming")
    )
    return (
        select(page.c.id, page.c.title, page.c.summary, page.c.field, page.c.designated,
               page.c.partner_name, coming.c.starts_at, coming.c.ends_at, coming.c.place,
               coming.c.dates)
        .select_from(page.outerjoin(coming, and_(coming.c.project_id == page.c.id,
                                                 coming.c.n <= SHOWN_DATES)))
        .order_by(page.c.next_start.is_(None), page.c.next_start, page.c.published_at.desc(),
                  page.c.id.desc(), coming.c.n)
    )


PUBLIC_PROJECTS = {by_field: _public_projects(by_field) for by_field in (False, True)}
"""A page of the site's visible projects, the soonest coming session first, each with its
partner's name and first coming dates: one statement, built once (without and with the
field filter)."""


class ProjectService:
    """Projects and their sessions, for the site's staff and partner staff."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)
        self.publishing = PublishingService(dbsession, clock=clock, settings=settings)
        self.notifications = NotificationService(dbsession, clock=clock, settings=settings)

    # -- reading -----------------------------------------------------------------

    def public_list(self, site, *, field=None, page=1, page_size=PAGE_SIZE) -> Page:
        """Visible projects, those with the soonest coming session first, as
        ``ListedProject`` (one statement)."""
        params = {"site_id": site.id, "now": self.clock(), "limit": page_size + 1,
                  "offset": (page - 1) * page_size}
        if field is not None:
            params["field"] = field
        projects = []
        for (project_id, title, summary, project_field, designated, partner_name,
             starts_at, ends_at, place, dates) in read_rows(
                self.dbsession, PUBLIC_PROJECTS[field is not None], params):
            if not projects or projects[-1].id != project_id:
                projects.append(ListedProject(project_id, title, summary, project_field,
                                              designated, partner_name, [], dates or 0))
            if starts_at is not None:
                projects[-1].coming.append(SessionTimes(starts_at, ends_at, place))
        return Page(items=projects[:page_size], page=page, page_size=page_size,
                    more=len(projects) > page_size)

    def featured(self, site, limit: int) -> list:
        return read_one(self.dbsession, self.featured_read(site, limit))

    def featured_read(self, site, limit: int) -> Read:
        """The first ``limit`` projects of ``public_list`` as ``ProjectCard``, each with
        its next session that is not cancelled (the site's page)."""
        return Read(FEATURED_PROJECTS, {"site_id": site.id, "now": self.clock(), "limit": limit},
                    _project_cards)

    def public_after(self, site, *, cursor=None, limit=PAGE_SIZE) -> Slice:
        """Visible projects, newest first, a slice after ``cursor`` (the API; the page's
        "soonest session first" order has no stable key to continue from)."""
        statement = (
            select(Project).options(joinedload(Project.partner))
            .where(Project.site_id == site.id, *visible_now(Project, self.clock()))
        )
        return fetch_slice(self.dbsession, statement, NEWEST_PROJECTS_FIRST, cursor=cursor,
                           limit=limit)

    def upcoming_sessions(self, project_ids) -> dict:
        """Sessions not yet over, per project id (cancelled ones included, marked)."""
        found = {project_id: [] for project_id in project_ids}
        if not found:
            return found
        for session in self.dbsession.scalars(
            select(ActivitySession)
            .where(ActivitySession.project_id.in_(found), ActivitySession.ends_at > self.clock())
            .order_by(ActivitySession.starts_at, ActivitySession.id)
        ):
            found[session.project_id].append(session)
        return found

    def sessions_with_seats(self, project) -> tuple:
        """A project's sessions not yet over (cancelled ones included) as ``SessionRow``,
        and ``{session id: Seats}``: its public page, in one statement."""
        sessions, seats = [], {}
        for *columns, applied, waitlisted in read_rows(
                self.dbsession, PROJECT_SESSIONS, {"project_id": project.id, "now": self.clock()}):
            session = SessionRow(*columns)
            sessions.append(session)
            seats[session.id] = Seats(session.capacity, applied, waitlisted)
        return sessions, seats

    def manage_list(self, site, scope: ProjectScope, *, page=1,
                    page_size=MANAGE_PAGE_SIZE) -> Page:
        """Every project the person manages, in any state, last changed first."""
        statement = (
            select(Project)
            .options(joinedload(Project.partner))
            .where(Project.site_id == site.id, *scope.criteria())
            .order_by(Project.updated_at.desc(), Project.id.desc())
        )
        return fetch_page(self.dbsession, statement, page=page, page_size=page_size,
                          counted=True)

    def session_summaries(self, project_ids) -> dict:
        """``{project id: (number of sessions, next start or None)}`` in one query."""
        now = self.clock()
        upcoming = (ActivitySession.ends_at > now) & ActivitySession.cancelled_at.is_(None)
        rows = self.dbsession.execute(
            select(
                ActivitySession.project_id,
                func.count(),
                func.min(case((upcoming, ActivitySession.starts_at))),
            )
            .where(ActivitySession.project_id.in_(list(project_ids)))
            .group_by(ActivitySession.project_id)
        ).all()
        return {project_id: (count, next_start) for project_id, count, next_start in rows}

    def seats(self, sessions) -> dict:
        """``{session id: Seats}`` for the given sessions, in one query."""
        counts = {}
        ids = [s.id for s in sessions]
        if ids:
            for session_id, state, count in self.dbsession.execute(
                select(SessionApplication.session_id, SessionApplication.state, func.count())
                .where(SessionApplication.session_id.in_(ids),
                       SessionApplication.state.in_(ACTIVE_STATES))
                .group_by(SessionApplication.session_id, SessionApplication.state)
            ):
                counts[session_id, state] = count
        return {
            s.id: Seats(s.capacity, counts.get((s.id, "applied"), 0),
                        counts.get((s.id, "waitlisted"), 0))
            for s in sessions
        }

    def partner_choices(self, site) -> list:
        """Partners a new project can belong to: the current ones."""
        return list(self.dbsession.scalars(
            select(PartnerOrganisation)
            .where(PartnerOrganisation.site_id == site.id,
                   PartnerOrganisation.retired_at.is_(None))
            .order_by(PartnerOrganisation.name)
        ))

    # -- projects ----------------------------------------------------------------

    def create(self, actor, site, scope: ProjectScope, *, title, summary="", body="", field,
               conditions="", questions=(), partner_id=None, publish_at=None,
               expire_at=None) -> Project:
        """A new project is a draft. Partner staff always create for their own
        organisation, whatever the form said."""
        if not scope.site_wide:
            if scope.partner_id is None:
                raise NotAllowed(_("Your account is not linked to a partner organisation. "
                                   "Ask the site administrator to invite you again."))
            partner_id = scope.partner_id
        partner = self._partner(site, partner_id)
        project = Project(
            site_id=site.id, slug="project-" + secrets.token_hex(8),
            partner_id=partner.id if partner else None,
            designated=partner is None or partner.designation_pattern == "all_unless_excluded",
            **self._own_fields(field, conditions, questions, existing=()),
        )
        self.publishing.add_draft(
            actor, project, title=title, summary=summary, body=body, kind=PROJECT_KIND,
            tags=[project.field], publish_at=publish_at, expire_at=expire_at,
        )
        self.audit.record(actor, "project.create", site_id=site.id, target=project,
                          partner_id=project.partner_id, designated=project.designated)
        return project

    def update(self, actor, project, *, expected_version=None, title, summary="", body="",
               field, conditions="", questions=(), publish_at=None, expire_at=None):
        """Save an edit as a new version (the workflow's rules apply as for posts)."""
        own = self._own_fields(field, conditions, questions, existing=project.questions or ())
        self.publishing.update(
            actor, project, expected_version=expected_version, title=title, summary=summary,
            body=body, tags=[own["field"]], publish_at=publish_at, expire_at=expire_at,
        )
        for name, value in own.items():
            setattr(project, name, value)
        self.dbsession.flush()
        self.audit.record(actor, "project.update", site_id=project.site_id, target=project,
                          version=project.version)
        return project

    def transition(self, actor, project, to_state, comment="", *, may_publish: bool):
        """One workflow step, exactly as for posts; publishing is the site's decision.
        Publishing tells the interested followers (``new_project``, once per project:
        publishing it again after archiving sends nothing); with a future ``publish_at``
        the reminder run tells them when that moment has come (scheduled_notices)."""
        rule = TRANSITIONS.get((project.state, to_state))
        if rule is not None and rule.needs_publish and not may_publish:
            raise NotAllowed(_("Only the site's administrators and coordinators may publish "
                               "a project or send it back."))
        self.publishing.transition(actor, project, to_state, comment, may_publish=may_publish)
        if to_state == "published" and project.is_visible_at(self.clock()):
            self.notifications.new_project(project)
        return project

    def designate(self, actor, project, flag: bool):
        """The site decides whether attendance at this project counts for premium, from
        now on: attendance already recorded keeps the designation it was recorded with."""
        flag = bool(flag)
        if project.designated == flag:
            return project
        project.designated = flag
        self.dbsession.flush()
        self.audit.record(actor, "project.designate", site_id=project.site_id, target=project,
                          designated=flag)
        return project

    # -- sessions ----------------------------------------------------------------

    def add_session(self, actor, project, *, starts_at, ends_at, place="", capacity=None,
                    application_required=False, online=False) -> ActivitySession:
        values = self._checked_session(starts_at, ends_at, place, capacity, application_required,
                                       online)
        session = ActivitySession(project_id=project.id, site_id=project.site_id,
                                  created_at=self.clock(), **values)
        self.dbsession.add(session)
        self.dbsession.flush()
        self.audit.record(actor, "session.create", site_id=project.site_id, target=session,
                          project_id=project.id)
        return session

    def update_session(self, actor, session, *, starts_at, ends_at, place="", capacity=None,
                       application_required=False, online=False) -> list:
        """Change a session; a larger capacity moves people up from the waiting list
        (returned, each told as in ``fill_places``)."""
        applications = ApplicationService(self.dbsession, clock=self.clock,
                                          settings=self.settings)
        session = applications.lock(session)
        if session.cancelled_at is not None:
            raise NotAllowed(_("This session has been cancelled; it cannot be changed."))
        values = self._checked_session(starts_at, ends_at, place, capacity, application_required,
                                       online)
        seats = self.seats([session])[session.id]
        if values["capacity"] is not None and values["capacity"] < seats.applied:
            raise InvalidInput(
                _("${n} people already have a place; the capacity cannot be smaller.",
                  mapping={"n": seats.applied}), field="capacity")
        if not values["application_required"] and seats.applied + seats.waitlisted:
            raise InvalidInput(
                _("People have already applied, so this session must keep taking "
                  "applications."), field="participation")
        changed = {k: v for k, v in values.items() if getattr(session, k) != v}
        for name, value in changed.items():
            setattr(session, name, value)
        self.dbsession.flush()
        self.audit.record(actor, "session.update", site_id=session.site_id, target=session,
                          fields=sorted(changed))
        return applications.fill_places(session)

    def cancel_session(self, actor, session) -> int:
        """Call a session off; everyone with a place or on the waiting list is told by
        mail (returns how many). Applications stay as they were, for the record."""
        if session.cancelled_at is not None:
            raise Conflict(_("This session has already been cancelled."))
        session.cancelled_at = self.clock()
        self.dbsession.flush()
        people = self.dbsession.scalars(
            select(Account)
            .join(SessionApplication, SessionApplication.account_id == Account.id)
            .where(SessionApplication.session_id == session.id,
                   SessionApplication.state.in_(ACTIVE_STATES), Account.disabled_at.is_(None))
        ).all()
        for account in people:
            queue_mail(self.dbsession, self.settings, self._cancelled_mail(account, session))
        self.audit.record(actor, "session.cancel", site_id=session.site_id, target=session,
                          notified=len(people))
        return len(people)

    # -- rules -------------------------------------------------------------------

    def _partner(self, site, partner_id):
        if partner_id is None:
            return None
        partner = self.dbsession.scalar(
            select(PartnerOrganisation).where(PartnerOrganisation.id == partner_id,
                                              PartnerOrganisation.site_id == site.id)
        )
        if partner is None or partner.retired_at is not None:
            raise InvalidInput(_("Choose a current partner organisation of this site."),
                               field="partner_id")
        return partner

    def _own_fields(self, field, conditions, questions, *, existing) -> dict:
        if field not in INTERESTS:
            raise InvalidInput(_("Choose the field of the activity from the list."),
                               field="field")
        conditions = (conditions or "").strip()
        if len(conditions) > CONDITIONS_MAX:
            raise InvalidInput(_("At most ${max} characters.", mapping={"max": CONDITIONS_MAX}),
                               field="conditions")
        return {"field": field, "conditions": conditions,
                "questions": checked_questions(questions, existing)}

    @staticmethod
    def _checked_session(starts_at, ends_at, place, capacity, application_required,
                         online=False) -> dict:
        if starts_at is None:
            raise InvalidInput(_("Enter when the session starts."), field="starts_at")
        if ends_at is None:
            raise InvalidInput(_("Enter when the session ends."), field="ends_at")
        if ends_at <= starts_at:
            raise InvalidInput(_("The end must be after the start."), field="ends_at")
        place = " ".join((place or "").split())
        if len(place) > PLACE_MAX:
            raise InvalidInput(_("At most ${max} characters.", mapping={"max": PLACE_MAX}),
                               field="place")
        if capacity is not None and not 1 <= capacity <= CAPACITY_MAX:
            raise InvalidInput(
                _("Enter a capacity from 1 to ${max}, or leave it empty for no limit.",
                  mapping={"max": CAPACITY_MAX}), field="capacity")
        return {"starts_at": starts_at, "ends_at": ends_at, "place": place,
                "capacity": capacity, "application_required": bool(application_required),
                "online": bool(online)}

    def _cancelled_mail(self, account, session) -> Mail:
        locale = account.locale if account.locale in LOCALES else "ja"
        translate = localizer_for(self.settings, locale).translate
        project = session.project
        mapping = {"name": account.display_name, "title": project.title}
        lines = [
            translate(_("Dear ${name},", mapping=mapping)),
            "",
            translate(_("We are sorry: the following session has been cancelled.")),
            "",
            *session_lines(session, locale),
            "",
            project_url(self.settings, project),
        ]
        return Mail(to=account.email,
                    subject=translate(_("Cancelled: ${title}", mapping=mapping)),
                    text="\n".join(lines) + "\n")


def project_url(settings, project) -> str:
    return f"{settings.base_url}/s/{project.site.code}/projects/{project.id}"


def checked_questions(questions, existing) -> list:
    """The project's own questions as stored: ``[{"key", "label", "required"}]``."""
    return keyed_questions(questions, existing, prefix="q", field="questions",
                           label_max=QUESTION_MAX, count_max=QUESTIONS_MAX)
