"""Contributor activities (担い手活動): recruitment projects, their sessions and applications."""
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .content import ContentItem
from .meta import Base

APPLICATION_STATES = ("applied", "waitlisted", "cancelled")


class Project(ContentItem):
    """担い手活動の募集: content with the posts' publishing workflow, plus its own table.

    ``designated`` is explicit data: whether attendance at this project counts toward
    premium registration for the site (a partner's project follows the partner's
    designation pattern when it is created; the site can change it)."""

    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("import_site_id", "external_ref"),
    )
    __mapper_args__ = {"polymorphic_identity": "project"}

    id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"),
                                    primary_key=True)
    field: Mapped[str] = mapped_column(String(40), default="other")
    """The activity's field, from the shared interest vocabulary (interests.INTERESTS)."""
    conditions: Mapped[str] = mapped_column(Text, default="")
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organisations.id"), index=True, default=None
    )
    designated: Mapped[bool] = mapped_column(default=True)
    questions: Mapped[list] = mapped_column(JSON, default=list)
    """The project's own questions for applicants: [{"key", "label", "required"}] (free text)."""
    external_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    """The activity ID of an imported record (national template column A)."""
    import_site_id: Mapped[int | None] = mapped_column(default=None)
    """Set with external_ref, so one activity ID is imported once per site."""

    partner = relationship("PartnerOrganisation")
    sessions = relationship(
        "ActivitySession", back_populates="project", order_by="ActivitySession.starts_at"
    )


class ActivitySession(Base):
    """One dated occurrence of a project, with its own QR code.

    ``token_version`` is part of the signed check-in token: rotating it makes every
    printed poster of the session stop working."""

    __tablename__ = "activity_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity"),
        Index("ix_activity_sessions_project_starts", "project_id", "starts_at"),
        Index("ix_activity_sessions_site_starts", "site_id", "starts_at"),
        Index("ix_activity_sessions_open_starts", "starts_at", "id",
              sqlite_where=text("cancelled_at IS NULL"),
              postgresql_where=text("cancelled_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300), default="")
    capacity: Mapped[int | None] = mapped_column(default=None)
    """None: no limit."""
    application_required: Mapped[bool] = mapped_column(default=False)
    """False: open attendance (just come); True: apply first, within capacity."""
    online: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Taken part in over the internet (オンライン開催); the activity search filters on it."""
    token_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)

    project = relationship("Project", back_populates="sessions")


class SessionApplication(Base):
    """An application to a session; beyond capacity it waits in line (キャンセル待ち)."""

    __tablename__ = "session_applications"
    __table_args__ = (
        UniqueConstraint("session_id", "account_id"),
        CheckConstraint(f"state IN {APPLICATION_STATES!r}", name="state"),
        Index("ix_session_applications_session_state", "session_id", "state", "applied_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("activity_sessions.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    applied_at: Mapped[datetime]
    """Order of the waiting list."""
    updated_at: Mapped[datetime]
