"""Engagement between a site and its registrants: consultations (相談), monitor surveys
(モニターアンケート) and the online community room (オンラインコミュニティルーム).

Monitor survey questions have their own table with the same shape as the registration
survey's ``SurveyQuestion`` (kind, label, choices, scale, required, show-if), so the one
question engine (``services/survey.py``: ``check_answers``; ``schemas/survey.py``:
``question_nodes``) asks and checks both, while the registration survey's queries never
see a monitor survey's questions.
"""
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base
from .registration import REGISTRATION_TIERS
from .survey import QUESTION_KINDS

CONSULTATION_TOPICS = (
    "local_culture", "relations_with_residents", "project_details", "dual_residence", "other",
)
CONSULTATION_STATES = ("new", "in_progress", "closed")
MONITOR_SURVEY_STATES = ("draft", "open", "closed")


class Consultation(Base):
    """A thread between one registrant and the site's coordinators (相談)."""

    __tablename__ = "consultations"
    __table_args__ = (
        CheckConstraint(f"topic IN {CONSULTATION_TOPICS!r}", name="topic"),
        CheckConstraint(f"state IN {CONSULTATION_STATES!r}", name="state"),
        Index("ix_consultations_site_state", "site_id", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    registrant_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    topic: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="new")
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    """The coordinator in charge (担当者)."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    """The last message or state change: the queue's order."""
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    site = relationship("Site")
    registrant = relationship("Account", foreign_keys=[registrant_id])
    assigned_to = relationship("Account", foreign_keys=[assigned_to_id])
    messages = relationship(
        "ConsultationMessage", cascade="all, delete-orphan", order_by="ConsultationMessage.id",
        back_populates="consultation",
    )


class ConsultationMessage(Base):
    __tablename__ = "consultation_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    from_staff: Mapped[bool] = mapped_column(default=False)
    """Written on the site's side (shown as the site, not as the staff member's name)."""
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    consultation = relationship("Consultation", back_populates="messages")
    author = relationship("Account")
    attachments = relationship(
        "ConsultationAttachment", cascade="all, delete-orphan",
        order_by="ConsultationAttachment.id",
    )


class ConsultationAttachment(Base):
    """A PDF, JPEG or PNG file sent with a message; its type is read from its content."""

    __tablename__ = "consultation_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(50))
    byte_size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    """Loaded only when the file is downloaded."""
    created_at: Mapped[datetime]


class MonitorSurvey(Base):
    """A survey put to a group of the site's registrants; answered once per person.

    The target group is every active registration of the site, narrowed by tier and/or
    relationship type when those are set."""

    __tablename__ = "monitor_surveys"
    __table_args__ = (
        CheckConstraint(f"state IN {MONITOR_SURVEY_STATES!r}", name="state"),
        CheckConstraint(
            f"target_tier IS NULL OR target_tier IN {REGISTRATION_TIERS!r}", name="target_tier"
        ),
        CheckConstraint(
            "target_relationship_type IS NULL OR target_relationship_type BETWEEN 1 AND 4",
            name="target_relationship_type",
        ),
        Index("ix_monitor_surveys_site_state", "site_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    target_tier: Mapped[str | None] = mapped_column(String(10), default=None)
    target_relationship_type: Mapped[int | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    created_at: Mapped[datetime]
    opened_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    site = relationship("Site")
    questions = relationship(
        "MonitorQuestion", order_by="[MonitorQuestion.position, MonitorQuestion.id]",
        cascade="all, delete-orphan", back_populates="survey",
    )


class MonitorQuestion(Base):
    """A monitor survey's question, shaped like ``SurveyQuestion`` for the question engine.
    Questions change only while the survey is a draft, so answers keep their meaning."""

    __tablename__ = "monitor_questions"
    __table_args__ = (
        CheckConstraint(f"kind IN {QUESTION_KINDS!r}", name="kind"),
        Index("ix_monitor_questions_survey_position", "survey_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("monitor_surveys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(300))
    help_text: Mapped[str] = mapped_column(Text, default="")
    choices: Mapped[list] = mapped_column(JSON, default=list)
    scale_min: Mapped[int] = mapped_column(default=1)
    scale_max: Mapped[int] = mapped_column(default=5)
    required: Mapped[bool] = mapped_column(default=False)
    show_if_question_id: Mapped[int | None] = mapped_column(
        ForeignKey("monitor_questions.id"), index=True, default=None
    )
    show_if_choice: Mapped[str | None] = mapped_column(String(50), default=None)
    created_at: Mapped[datetime]

    survey = relationship("MonitorSurvey", back_populates="questions")


class MonitorResponse(Base):
    """One person's answers to one survey. The unique constraint is what makes "once per
    person" hold under concurrent submissions."""

    __tablename__ = "monitor_responses"
    __table_args__ = (UniqueConstraint("survey_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("monitor_surveys.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    """question id (as text) -> the engine's stored value ({"choice": key} …)."""
    submitted_at: Mapped[datetime]


class MonitorChoice(Base):
    """One option (or scale number) picked in one response, so results are counted by one
    GROUP BY on any database instead of by reading every response's JSON."""

    __tablename__ = "monitor_choices"
    __table_args__ = (
        PrimaryKeyConstraint("response_id", "question_id", "choice"),
        Index("ix_monitor_choices_question_choice", "question_id", "choice"),
    )

    response_id: Mapped[int] = mapped_column(
        ForeignKey("monitor_responses.id", ondelete="CASCADE")
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("monitor_questions.id", ondelete="CASCADE")
    )
    choice: Mapped[str] = mapped_column(String(50))


class RoomThread(Base):
    """A topic in a site's community room; its first post is the opening message."""

    __tablename__ = "room_threads"
    __table_args__ = (Index("ix_room_threads_site_last_post", "site_id", "last_post_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    title: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime]
    last_post_at: Mapped[datetime]
    hidden_at: Mapped[datetime | None] = mapped_column(default=None)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    hidden_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )

    author = relationship("Account", foreign_keys=[author_id])


class RoomPost(Base):
    __tablename__ = "room_posts"
    __table_args__ = (
        Index("ix_room_posts_thread_created", "thread_id", "created_at"),
        Index("ix_room_posts_author_created", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("room_threads.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    from_staff: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    hidden_at: Mapped[datetime | None] = mapped_column(default=None)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    hidden_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )

    thread = relationship("RoomThread")
    author = relationship("Account", foreign_keys=[author_id])


class RoomReport(Base):
    """A participant's report of a post to the moderators; one per person and post."""

    __tablename__ = "room_reports"
    __table_args__ = (UniqueConstraint("post_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("room_posts.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    handled_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set when a moderator hid the post or kept it; open reports make the queue."""
