"""Local needs (地域課題・担い手ニーズ) submitted to a site: what the town needs hands for,
from its partner organisations, its coordinators and the people registered with it — the
guideline's STEP 4 starts there."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

NEED_STATES = ("new", "accepted", "declined", "became_project")
SUBMITTER_ROLES = ("registrant", "partner", "coordinator", "site_admin")


class Need(Base):
    """One need and its triage: new → accepted → became a project, or declined with a
    reason the submitter reads. ``contact`` is shown to the site's staff only."""

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint(f"state IN {NEED_STATES!r}", name="state"),
        CheckConstraint(f"submitter_role IN {SUBMITTER_ROLES!r}", name="submitter_role"),
        Index("ix_needs_site_state", "site_id", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    submitter_role: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(String(300), default="")
    timing: Mapped[str] = mapped_column(String(200), default="")
    """When (free text: 「毎年5月の週末」, 「11月10日」)."""
    people_wanted: Mapped[int | None] = mapped_column(default=None)
    skills: Mapped[str] = mapped_column(String(500), default="")
    contact: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(20), default="new")
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("content_items.id"), index=True,
                                                   default=None)
    """The project made from it (the project's staff page links back)."""
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True,
                                                      default=None)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
