"""Attendance at contributor activities (担い手活動の実績) and imported records.

Attendance is what premium status is judged on: it is never deleted (voiding keeps
the row and says why) and never doubled (one row per person and session, enforced
by a unique constraint)."""
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

ATTENDANCE_SOURCES = ("qr", "staff", "card", "import")
SELDOM_SET = ("import_id", "recorded_by_id", "voided_by_id")
"""Foreign keys most rows leave empty: a person's own QR check-in has no recorder, no
import and (almost always) no voider."""


def index_when_set(table: str, column: str) -> Index:
    """The index of a seldom-set foreign key, over the rows that have one: each check-in
    writes no entry into it (at festival rates that is three index writes fewer per row),
    and lookups by a value — which imply the value is set — still use it."""
    where = text(f"{column} IS NOT NULL")
    return Index(f"ix_{table}_{column}", column, postgresql_where=where, sqlite_where=where)


class Attendance(Base):
    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("session_id", "account_id"),
        CheckConstraint(f"source IN {ATTENDANCE_SOURCES!r}", name="source"),
        Index("ix_attendances_account_attended", "account_id", "attended_at"),
        Index("ix_attendances_site_attended", "site_id", "attended_at"),
        *(index_when_set("attendances", column) for column in SELDOM_SET),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("activity_sessions.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    attended_at: Mapped[datetime]
    """When the activity took place (the session's start), what premium rules count."""
    designated: Mapped[bool]
    """Whether the project was designated for the site's premium count (指定された担い手活動)
    when the attendance was recorded: a copy of ``Project.designated`` made by every writer,
    so designating or undesignating the project later changes no past count."""
    recorded_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(10))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), default=None)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendance_imports.id"), default=None
    )
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    void_reason: Mapped[str] = mapped_column(Text, default="")
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), default=None)


class AttendanceImport(Base):
    """One upload of the national activity-record template, with its JSON report."""

    __tablename__ = "attendance_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    imported_at: Mapped[datetime]
    report: Mapped[dict] = mapped_column(JSON, default=dict)


class PendingAttendanceClaim(Base):
    """An imported participant not (yet) matched to a verified registrant. It attaches
    as attendance when a person with this name, date of birth and postal code verifies."""

    __tablename__ = "pending_attendance_claims"
    __table_args__ = (
        UniqueConstraint("session_id", "name_key", "birthdate", "postal_code"),
        Index("ix_pending_claims_match", "birthdate", "postal_code", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("activity_sessions.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name_key: Mapped[str] = mapped_column(String(200))
    """The name normalised for matching (NFKC, no spaces)."""
    birthdate: Mapped[date]
    postal_code: Mapped[str] = mapped_column(String(7))
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendance_imports.id"), index=True, default=None
    )
    source_row: Mapped[dict] = mapped_column(JSON, default=dict)
    """The row as read (address, gender …), kept until it attaches; personal data."""
    created_at: Mapped[datetime]
    attached_at: Mapped[datetime | None] = mapped_column(default=None)
    attendance_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendances.id"), index=True, default=None
    )


class AttendanceExternalId(Base):
    """A municipality's own key for an attendance it recorded in its own system and sent
    through the API (外部システムの記録番号): sending the same key again answers the same
    attendance, so a retried request never records twice. Kept apart from ``attendances``
    so the check-in's hot table gains no column or index for it."""

    __tablename__ = "attendance_external_ids"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendances.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
