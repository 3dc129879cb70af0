"""Registrants' applications to sessions (参加申込), the waiting list and the applicant list.

Applications (申込) respect a session's capacity even when many people apply at the
same moment: the session row is locked (``SELECT … FOR UPDATE``) before places are
counted, so the count and the new row are one step. Beyond capacity people join the
waiting list (キャンセル待ち) in the order they applied; a cancellation moves the first
of them up and tells them in their inbox and by mail, as they chose.
"""
from dataclasses import dataclass

from sqlalchemy import func, select

from ..clock import to_tokyo
from ..i18n import _
from ..models import Account, ActivitySession, SessionApplication
from ..spreadsheet import csv_bytes
from .audit import AuditLog
from .errors import Conflict, InvalidInput, NotAllowed
from .notifications import NotificationService

ANSWER_MAX = 1000
ACTIVE_STATES = ("applied", "waitlisted")

APPLICATION_STATE_LABELS = {
    "applied": _("Applied, with a place"),
    "waitlisted": _("On the waiting list"),
    "cancelled": _("Application cancelled"),
}
ALREADY_APPLIED = {
    "applied": _("You have already applied for this session and have a place."),
    "waitlisted": _("You are already on the waiting list for this session."),
}


@dataclass(frozen=True)
class Seats:
    """How many people hold a place and wait for one in a session."""

    capacity: int | None
    applied: int = 0
    waitlisted: int = 0

    @property
    def left(self) -> int | None:
        """Places still free; None when there is no limit."""
        return None if self.capacity is None else max(self.capacity - self.applied, 0)


class ApplicationService:
    """Registrants' applications to sessions, the waiting list, and the applicant list."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)
        self.notifications = NotificationService(dbsession, clock=clock, settings=settings)

    def lock(self, session) -> ActivitySession:
        """Lock the session row until the transaction ends (a no-op on SQLite, where
        writes are serialised anyway) and reload it, so counts made next are exact."""
        return self.dbsession.scalars(
            select(ActivitySession)
            .where(ActivitySession.id == session.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()

    def applications_of(self, account, sessions) -> dict:
        """``{session id: application}`` of one person for the given sessions."""
        ids = [s.id for s in sessions]
        if account is None or not ids:
            return {}
        return {
            a.session_id: a for a in self.dbsession.scalars(
                select(SessionApplication).where(SessionApplication.session_id.in_(ids),
                                                 SessionApplication.account_id == account.id)
            )
        }

    def apply(self, account, session, answers) -> SessionApplication:
        """Apply for a place; beyond capacity the application waits in line."""
        if account.kind != "registrant" or account.disabled_at is not None:
            raise NotAllowed(_("Only people registered with the Furusato resident "
                               "registration can apply. Sign in with your registrant account."))
        session = self.lock(session)
        project = session.project
        self._check_open(session, project)
        answers = checked_answers(project.questions or (), answers)
        application = self.dbsession.scalar(
            select(SessionApplication).where(SessionApplication.session_id == session.id,
                                             SessionApplication.account_id == account.id)
        )
        if application is not None and application.state != "cancelled":
            raise Conflict(ALREADY_APPLIED[application.state])
        seats = self._seats(session)
        state = "applied" if seats.left is None or seats.left > 0 else "waitlisted"
        now = self.clock()
        if application is None:
            application = SessionApplication(session_id=session.id, account_id=account.id)
            self.dbsession.add(application)
        application.state, application.answers = state, answers
        application.applied_at = application.updated_at = now
        self.dbsession.flush()
        return application

    def cancel(self, application) -> list:
        """Give the place up (or leave the waiting list). A freed place goes to the
        first person waiting, who is told (see ``fill_places``); returns who moved up."""
        session = self.lock(self.dbsession.get(ActivitySession, application.session_id))
        self.dbsession.refresh(application)
        if application.state == "cancelled":
            raise Conflict(_("This application has already been cancelled."))
        if session.ends_at <= self.clock():
            raise NotAllowed(_("This session is over; its applications can no longer change."))
        had_place = application.state == "applied"
        application.state = "cancelled"
        application.updated_at = self.clock()
        self.dbsession.flush()
        return self.fill_places(session) if had_place else []

    def fill_places(self, session) -> list:
        """Move people up from the waiting list, first come first served, while places
        are free; the caller holds the session's lock. Each one is told once
        (``application_result``: inbox and mail, as they chose)."""
        if session.cancelled_at is not None or session.ends_at <= self.clock():
            return []
        seats = self._seats(session)
        waiting = select(SessionApplication).join(
            Account, Account.id == SessionApplication.account_id
        ).where(
            SessionApplication.session_id == session.id,
            SessionApplication.state == "waitlisted",
            Account.disabled_at.is_(None),
        ).order_by(SessionApplication.applied_at, SessionApplication.id)
        if seats.left is not None:
            waiting = waiting.limit(seats.left)
        moved = self.dbsession.scalars(waiting).all()
        now = self.clock()
        for application in moved:
            application.state, application.updated_at = "applied", now
        self.dbsession.flush()
        self.notifications.application_result(session, moved)
        return moved

    def applicants(self, session) -> list:
        """``(application, account)`` of everyone with a place, then the waiting list."""
        return self.dbsession.execute(
            select(SessionApplication, Account)
            .join(Account, Account.id == SessionApplication.account_id)
            .where(SessionApplication.session_id == session.id,
                   SessionApplication.state.in_(ACTIVE_STATES))
            .order_by(SessionApplication.state, SessionApplication.applied_at,
                      SessionApplication.id)
        ).all()

    def record_view(self, actor, session, count):
        """Seeing the applicant list is a staff read of personal data."""
        self.audit.record(actor, "session.applicants_view", site_id=session.site_id,
                          target=session, rows=count)

    def export_applicants(self, actor, session, *, translate) -> bytes:
        """The applicant list as CSV for Excel (UTF-8 with BOM): name, email, state,
        applied at, and the answers to the project's questions — nothing more."""
        questions = session.project.questions or []
        header = [translate(label) for label in (
            _("Applicant's name"), _("Email address"), _("State"),
            _("Applied at (Japan time)")
        )] + [q["label"] for q in questions]
        rows = [
            [account.display_name, account.email,
             translate(APPLICATION_STATE_LABELS[application.state]),
             to_tokyo(application.applied_at).strftime("%Y-%m-%d %H:%M")]
            + [(application.answers or {}).get(q["key"], "") for q in questions]
            for application, account in self.applicants(session)
        ]
        self.audit.record(actor, "session.applicants_export", site_id=session.site_id,
                          target=session, rows=len(rows))
        return csv_bytes([header, *rows])

    # -- rules -------------------------------------------------------------------

    def _check_open(self, session, project):
        now = self.clock()
        if project.site.state != "active" or not project.is_visible_at(now):
            raise NotAllowed(_("This project is not open to the public."))
        if session.cancelled_at is not None:
            raise NotAllowed(_("This session has been cancelled."))
        if session.ends_at <= now:
            raise NotAllowed(_("This session is over."))
        if not session.application_required:
            raise NotAllowed(_("No application is needed for this session: just come along."))

    def _seats(self, session) -> Seats:
        counts = dict(self.dbsession.execute(
            select(SessionApplication.state, func.count())
            .where(SessionApplication.session_id == session.id,
                   SessionApplication.state.in_(ACTIVE_STATES))
            .group_by(SessionApplication.state)
        ).all())
        return Seats(session.capacity, counts.get("applied", 0), counts.get("waitlisted", 0))


def checked_answers(questions, answers) -> dict:
    """Answers to the project's questions by key; required ones must be given."""
    answers = answers or {}
    result = {}
    for question in questions:
        text = (answers.get(question["key"]) or "").strip()
        if question["required"] and not text:
            raise InvalidInput(_("Please answer: ${label}", mapping={"label": question["label"]}),
                               field=question["key"])
        if len(text) > ANSWER_MAX:
            raise InvalidInput(_("At most ${max} characters.", mapping={"max": ANSWER_MAX}),
                               field=question["key"])
        result[question["key"]] = text
    return result
