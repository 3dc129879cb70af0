"""What one import of activity records left behind (取込結果): the activities its rows went
to and the participants kept until they verify their identity."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select, union_all

from ..models import ActivitySession, Attendance, PendingAttendanceClaim, Project
from .audit import AuditLog


@dataclass(frozen=True)
class ImportedActivity:
    project_id: int
    title: str
    starts_at: datetime
    recorded: int
    pending: int


@dataclass(frozen=True)
class PendingPerson:
    row: int
    name: str
    title: str
    starts_at: datetime


class ImportResults:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.audit = AuditLog(dbsession, clock)

    def activities(self, record) -> list:
        """Each activity with the attendance and the pending claims this import wrote."""
        recorded = (select(Attendance.session_id.label("session_id"),
                           func.count().label("recorded"), literal(0).label("pending"))
                    .where(Attendance.import_id == record.id).group_by(Attendance.session_id))
        claims = PendingAttendanceClaim
        pending = (select(claims.session_id, literal(0), func.count())
                   .where(claims.import_id == record.id).group_by(claims.session_id))
        both = union_all(recorded, pending).subquery()
        rows = self.dbsession.execute(
            select(Project.id, Project.title, ActivitySession.starts_at,
                   func.sum(both.c.recorded), func.sum(both.c.pending))
            .join(ActivitySession, ActivitySession.id == both.c.session_id)
            .join(Project, Project.id == ActivitySession.project_id)
            .group_by(Project.id, Project.title, ActivitySession.id, ActivitySession.starts_at)
            .order_by(ActivitySession.starts_at, ActivitySession.id))
        return [ImportedActivity(*row[:3], int(row[3]), int(row[4])) for row in rows]

    def pending_people(self, actor, record) -> list:
        """The participants of this import still waiting for identity verification, by
        row; names are personal data, so the read is in the audit log."""
        claims = PendingAttendanceClaim
        rows = self.dbsession.execute(
            select(claims.source_row, Project.title, ActivitySession.starts_at)
            .join(ActivitySession, ActivitySession.id == claims.session_id)
            .join(Project, Project.id == ActivitySession.project_id)
            .where(claims.import_id == record.id, claims.attached_at.is_(None))).all()
        people = sorted((PendingPerson(int(source.get("row", 0)), source.get("name", ""),
                                       title, starts_at) for source, title, starts_at in rows),
                        key=lambda person: person.row)
        if people:
            self.audit.record(actor, "attendance.import.pending_read", site_id=record.site_id,
                              target=record, people=len(people))
        return people
