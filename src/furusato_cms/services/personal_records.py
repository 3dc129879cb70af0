"""A person's own records as their app reads them through the API (自分の記録): activity
history, applications and the inbox, newest first by cursor, each with the sessions,
projects and sites it names (one query each, not one per row). Another person's item is
never found."""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..models import ActivitySession, Attendance, InboxMessage, Project, SessionApplication, Site
from .paging import Slice, SortKey, fetch_slice


def _newest_first(model, moment):
    return [SortKey(moment, True, datetime.fromisoformat,
                    lambda item: getattr(item, moment.key)),
            SortKey(model.id, True, int, lambda item: item.id)]


@dataclass
class Listed:
    """A slice of the person's rows, with what they refer to."""
    found: Slice
    sites: dict = field(default_factory=dict)
    projects: dict = field(default_factory=dict)
    """{session id: Project}"""
    sessions: dict = field(default_factory=dict)
    """{session id: (ActivitySession, Project, Site)}"""


class PersonalRecords:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def activities(self, account, *, cursor, limit) -> Listed:
        found = self._slice(Attendance, Attendance.attended_at, account, cursor, limit)
        session_ids = {a.session_id for a in found.items}
        projects = dict(self.dbsession.execute(
            select(ActivitySession.id, Project)
            .join(Project, Project.id == ActivitySession.project_id)
            .where(ActivitySession.id.in_(session_ids or {0}))).all())
        return Listed(found, sites=self.sites_by_id(a.site_id for a in found.items),
                      projects=projects)

    def applications(self, account, *, cursor, limit) -> Listed:
        found = self._slice(SessionApplication, SessionApplication.applied_at, account, cursor,
                            limit)
        return Listed(found, sessions=self.sessions_of(found.items))

    def inbox(self, account, *, cursor, limit) -> Listed:
        found = self._slice(InboxMessage, InboxMessage.created_at, account, cursor, limit)
        return Listed(found, sites=self.sites_by_id(m.site_id for m in found.items))

    def sessions_of(self, applications) -> dict:
        """{session id: (session, project, site)} of the applications, in one query."""
        return {session.id: (session, project, site) for session, project, site in
                self.dbsession.execute(
                    select(ActivitySession, Project, Site)
                    .join(Project, Project.id == ActivitySession.project_id)
                    .join(Site, Site.id == ActivitySession.site_id)
                    .where(ActivitySession.id.in_({a.session_id for a in applications}
                                                  or {0})))}

    def sites_by_id(self, site_ids) -> dict:
        wanted = sorted(set(site_ids))
        if not wanted:
            return {}
        return {site.id: site for site in self.dbsession.scalars(
            select(Site).where(Site.id.in_(wanted)))}

    def session(self, session_id):
        return self.dbsession.get(ActivitySession, session_id)

    def application_of(self, account, application_id):
        return self.dbsession.scalar(select(SessionApplication).where(
            SessionApplication.id == application_id,
            SessionApplication.account_id == account.id))

    def owns_message(self, account, message_id) -> bool:
        return self.dbsession.scalar(select(InboxMessage.id).where(
            InboxMessage.id == message_id, InboxMessage.account_id == account.id)) is not None

    def _slice(self, model, moment, account, cursor, limit) -> Slice:
        return fetch_slice(self.dbsession, select(model).where(model.account_id == account.id),
                           _newest_first(model, moment), cursor=cursor, limit=limit)
