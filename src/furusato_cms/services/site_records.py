"""What a municipality's own server reads and writes through the API (自治体システム連携):
its site's registrations, attendance and applications, and attendance it recorded in its
own system.

What goes out about a person is what they gave *this* site when registering — tier, state
and dates, relationship types, connections and the answers to the site's own questions —
under the site's pseudonymous reference (``acct_…``, the webhooks' too). Never a name,
email address, postal address or birth date: the platform has no consent from the person
to hand those to another system. Lists are keyset slices by id, oldest first, so a server
can sync by remembering its cursor.
"""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..i18n import _
from ..models import (
    ActivitySession,
    Attendance,
    AttendanceExternalId,
    Registration,
    SessionApplication,
    SurveyAnswer,
)
from .attendance import AttendanceService, Recorded
from .errors import Conflict, InvalidInput
from .paging import SortKey, fetch_slice


def _by_id(model) -> list:
    return [SortKey(model.id, False, int, lambda item: item.id)]


class SiteRecords:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    # -- reads ----------------------------------------------------------------------

    def registrations(self, site, *, cursor=None, limit=50, state=None, tier=None,
                      changed_since: datetime | None = None):
        statement = select(Registration).where(Registration.site_id == site.id)
        if state:
            statement = statement.where(Registration.state == state)
        if tier:
            statement = statement.where(Registration.tier == tier)
        if changed_since:
            statement = statement.where(Registration.state_changed_at >= changed_since)
        return fetch_slice(self.dbsession, statement, _by_id(Registration), cursor=cursor,
                           limit=limit)

    def answers_of(self, registrations) -> dict:
        """Registration id -> [(question id, answer)] for a page, in one query."""
        answers = {registration.id: [] for registration in registrations}
        if answers:
            for registration_id, question_id, value in self.dbsession.execute(
                    select(SurveyAnswer.registration_id, SurveyAnswer.question_id,
                           SurveyAnswer.value)
                    .where(SurveyAnswer.registration_id.in_(list(answers)))
                    .order_by(SurveyAnswer.registration_id, SurveyAnswer.question_id)):
                answers[registration_id].append((question_id, value))
        return answers

    def attendance(self, site, *, cursor=None, limit=50, session_id=None,
                   attended_from: datetime | None = None, attended_to: datetime | None = None):
        statement = select(Attendance).where(Attendance.site_id == site.id)
        if session_id:
            statement = statement.where(Attendance.session_id == session_id)
        if attended_from:
            statement = statement.where(Attendance.attended_at >= attended_from)
        if attended_to:
            statement = statement.where(Attendance.attended_at < attended_to)
        return fetch_slice(self.dbsession, statement, _by_id(Attendance), cursor=cursor,
                           limit=limit)

    def applications(self, site, *, cursor=None, limit=50, state=None, session_id=None):
        statement = (select(SessionApplication)
                     .join(ActivitySession, ActivitySession.id == SessionApplication.session_id)
                     .where(ActivitySession.site_id == site.id))
        if state:
            statement = statement.where(SessionApplication.state == state)
        if session_id:
            statement = statement.where(SessionApplication.session_id == session_id)
        return fetch_slice(self.dbsession, statement, _by_id(SessionApplication),
                           cursor=cursor, limit=limit)

    def registrations_of_accounts(self, site, account_ids) -> dict:
        """Account id -> the registration id at this site, for a page of rows."""
        if not account_ids:
            return {}
        return dict(self.dbsession.execute(
            select(Registration.account_id, Registration.id).where(
                Registration.site_id == site.id,
                Registration.account_id.in_(sorted(set(account_ids))))).all())

    def external_ids_of(self, site, attendance_ids) -> dict:
        """Attendance id -> the municipality's own key, for a page of rows."""
        if not attendance_ids:
            return {}
        return dict(self.dbsession.execute(
            select(AttendanceExternalId.attendance_id, AttendanceExternalId.external_id).where(
                AttendanceExternalId.site_id == site.id,
                AttendanceExternalId.attendance_id.in_(sorted(set(attendance_ids))))).all())

    def sessions_of(self, session_ids) -> dict:
        """Session id -> project id, for a page of rows."""
        if not session_ids:
            return {}
        return dict(self.dbsession.execute(
            select(ActivitySession.id, ActivitySession.project_id)
            .where(ActivitySession.id.in_(sorted(set(session_ids))))).all())

    # -- attendance from the municipality's own system -------------------------------

    def record_attendance(self, actor, site, client_id: str, external_id: str, *,
                          registration_id: int, session_id: int) -> Recorded:
        """Record attendance the municipality recorded itself, once per ``external_id``:
        the same key again answers the attendance it recorded (status "already"), even
        under concurrent retries; a key already used for another attendance is a
        Conflict. The rules are the staff recording's (session of this site, not
        cancelled, check-in opened; the person registered with the site)."""
        known = self._attendance_of_key(site, external_id)
        if known is not None:
            return Recorded(known, None, "already")
        registration = self.dbsession.scalar(select(Registration).where(
            Registration.id == registration_id, Registration.site_id == site.id))
        if registration is None:
            raise InvalidInput(_("This site has no registration with this id."),
                               field="registration_id")
        session = self.dbsession.scalar(select(ActivitySession).where(
            ActivitySession.id == session_id, ActivitySession.site_id == site.id))
        if session is None:
            raise InvalidInput(_("This site has no session with this id."), field="session_id")
        result = AttendanceService(self.dbsession, clock=self.clock, settings=self.settings
                                   ).record_by_staff(actor, session, registration.account)
        self._keep_key(site, external_id, result.attendance, client_id)
        if self._attendance_of_key(site, external_id).id != result.attendance.id:
            raise Conflict(_("This external_id was already sent for another attendance."))
        return result

    def _attendance_of_key(self, site, external_id) -> Attendance | None:
        return self.dbsession.scalar(
            select(Attendance).join(AttendanceExternalId,
                                    AttendanceExternalId.attendance_id == Attendance.id)
            .where(AttendanceExternalId.site_id == site.id,
                   AttendanceExternalId.external_id == external_id)
            .execution_options(populate_existing=True))

    def _keep_key(self, site, external_id, attendance, client_id):
        """The key, unless a concurrent request stored it first (which then decides)."""
        dialect = {"postgresql": postgresql, "sqlite": sqlite}[
            self.dbsession.get_bind().dialect.name]
        self.dbsession.execute(
            dialect.insert(AttendanceExternalId).values(
                site_id=site.id, external_id=external_id, attendance_id=attendance.id,
                client_id=client_id, created_at=self.clock())
            .on_conflict_do_nothing(index_elements=["site_id", "external_id"]))
