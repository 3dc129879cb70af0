"""ふるさと住民登録: a person's registration with a site, and its answers."""
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base

REGISTRATION_TIERS = ("basic", "premium")
REGISTRATION_STATES = ("active", "left", "released")


class Registration(Base):
    """One row per person and site, ever: leaving and rejoining change its state and
    add history, so a second registration with one site is impossible by construction."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("account_id", "site_id"),
        CheckConstraint(f"tier IN {REGISTRATION_TIERS!r}", name="tier"),
        CheckConstraint(f"state IN {REGISTRATION_STATES!r}", name="state"),
        Index("ix_registrations_site_state", "site_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    tier: Mapped[str] = mapped_column(String(10), default="basic")
    """ベーシック/プレミアム登録."""
    state: Mapped[str] = mapped_column(String(10), default="active")
    derived_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id"), index=True, default=None
    )
    """For a prefecture registration made through a municipality's (shown "via …")."""
    at_home: Mapped[bool] = mapped_column(default=False)
    """Registered where the person lives: allowed, never counted as relationship population."""
    relationship_types: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    """関係人口の類型①–④ that apply (vocabulary.RELATIONSHIP_TYPES keys, ascending);
    empty means unanswered (e.g. an old "roots" answer, asked again once)."""
    connections: Mapped[list] = mapped_column(JSON, default=list)
    """National common question: the person's connections (vocabulary.CONNECTIONS keys)."""
    registered_at: Mapped[datetime]
    """First registration; kept when the person leaves and rejoins."""
    state_changed_at: Mapped[datetime]
    release_notice_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the 30-day inactivity notice was sent; cleared when the person signs in."""
    premium_since: Mapped[datetime | None] = mapped_column(default=None)
    premium_until: Mapped[datetime | None] = mapped_column(default=None, index=True)
    """プレミアム登録の有効期限: one year from approval or renewal."""
    long_stay: Mapped[bool] = mapped_column(default=False)
    """長期滞在者: shown on the card where the site enables the mark."""
    renewal_notice_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the 30-days-before-expiry notice was sent for the current premium period."""

    account = relationship("Account")
    site = relationship("Site")
    derived_from = relationship("Registration", remote_side=[id])
    events = relationship(
        "RegistrationEvent", cascade="all, delete-orphan", order_by="RegistrationEvent.id"
    )


class RegistrationEvent(Base):
    """History of a registration: joined, left, rejoined, released, tier changes."""

    __tablename__ = "registration_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class SurveyAnswer(Base):
    """An answer to one of the site's own questions; survives the question's retirement."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("registration_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE")
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"), index=True)
    value: Mapped[dict] = mapped_column(JSON)
    """{"choice": key} | {"choices": [keys]} | {"text": str} | {"scale": int}."""
    answered_at: Mapped[datetime]
