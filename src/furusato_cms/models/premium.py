"""Premium registration (プレミアム登録): applications, the three-site limit, and stays."""
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

APPLICATION_KINDS = ("new", "renewal")
APPLICATION_STATES = ("pending", "approved", "rejected", "withdrawn")
STAY_SOURCES = ("qr", "declaration")
DECLARATION_STATES = ("pending", "confirmed", "rejected")


class PremiumApplication(Base):
    """An application for premium status (or its renewal) with the evidence it was judged
    on, so every decision can be explained later."""

    __tablename__ = "premium_applications"
    __table_args__ = (
        CheckConstraint(f"kind IN {APPLICATION_KINDS!r}", name="kind"),
        CheckConstraint(f"state IN {APPLICATION_STATES!r}", name="state"),
        Index("ix_premium_applications_site_state", "site_id", "state", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(String(10), default="new")
    state: Mapped[str] = mapped_column(String(10), default="pending")
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    """The eligibility result at submission: each requirement, whether it held, and why."""
    submitted_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    """Shown to the applicant when rejected."""


class PremiumSlot(Base):
    """At most three premium sites per person, enforced by the database: a counted premium
    registration holds one of the person's slots 1–3 (a prefecture holds none while the
    person has premium with a municipality inside it)."""

    __tablename__ = "premium_slots"
    __table_args__ = (CheckConstraint("slot BETWEEN 1 AND 3", name="slot"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), unique=True)


class StayPoint(Base):
    """A designated lodging or workspace with its own stay QR (滞在記録の読み取り場所)."""

    __tablename__ = "stay_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="lodging")
    token_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class StayDeclaration(Base):
    """A person's declaration of days stayed, with documents, confirmed by a coordinator."""

    __tablename__ = "stay_declarations"
    __table_args__ = (
        CheckConstraint("last_day >= first_day", name="days"),
        CheckConstraint(f"state IN {DECLARATION_STATES!r}", name="state"),
        Index("ix_stay_declarations_site_state", "site_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    first_day: Mapped[date]
    last_day: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="pending")
    submitted_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    reason: Mapped[str] = mapped_column(Text, default="")


class StayDocument(Base):
    """A document attached to a stay declaration (receipt, lodging certificate)."""

    __tablename__ = "stay_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(
        ForeignKey("stay_declarations.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    byte_size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime]


class StayRecord(Base):
    """One day of stay at a site, from a stay QR or a confirmed declaration; one row per
    person, site and day, so scanning twice or overlapping declarations count once."""

    __tablename__ = "stay_records"
    __table_args__ = (
        UniqueConstraint("account_id", "site_id", "stay_date"),
        CheckConstraint(f"source IN {STAY_SOURCES!r}", name="source"),
        Index("ix_stay_records_site_date", "site_id", "stay_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    stay_date: Mapped[date]
    source: Mapped[str] = mapped_column(String(20))
    stay_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("stay_points.id"), index=True, default=None
    )
    declaration_id: Mapped[int | None] = mapped_column(
        ForeignKey("stay_declarations.id"), index=True, default=None
    )
    recorded_at: Mapped[datetime]
