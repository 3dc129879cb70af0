"""Engagement (登録者のニーズに応じた情報発信): what registrants care about, the sites they
follow, how they want to be told, their inbox, targeted posts and the mail outbox.

Following: the sites a person follows are their **active registrations plus explicit
follows** (``site_follows``). Registering already says "keep me informed", so a
registration needs no follow row; a follow row lets a person hear from a site they have
not (or not yet) registered with. Leaving a site ends the implied follow.

Delivery of one kind of notice from one site to one person (see
services/notifications.py): nothing at all while an unsubscribe record covers it (the
kind, or the whole site with kind ``all``); otherwise in the inbox and by email, each
unless the person's preference row for that site and kind turns the channel off. No
preference row means both channels are on.
"""
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base

NOTIFICATION_KINDS = (
    "targeted_post",
    "new_project",
    "application_result",
    "session_reminder",
    "premium_decision",
    "renewal_notice",
    "consultation_reply",
)
ALL_KINDS = "all"
"""The kind of an unsubscribe record that covers every kind of notice from a site."""
OUTBOX_STATES = ("queued", "sending", "sent", "failed")


class RegistrantInterest(Base):
    """One interest (関心分野) a person chose, a key of interests.INTERESTS."""

    __tablename__ = "registrant_interests"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    interest: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class SiteFollow(Base):
    """An explicit follow of a site (フォロー), beside the follows implied by registrations."""

    __tablename__ = "site_follows"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True, index=True)
    created_at: Mapped[datetime]


class NotificationPreference(Base):
    """A person's channels for one kind of notice from one site (通知設定)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (CheckConstraint(f"kind IN {NOTIFICATION_KINDS!r}", name="kind"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    email: Mapped[bool] = mapped_column(default=True)
    inbox: Mapped[bool] = mapped_column(default=True)


class Unsubscribe(Base):
    """配信停止: made from the link in a mail, without signing in. Kept with its time as
    the record of the person's refusal; cleared only when the person, signed in, saves
    their preferences for that site again."""

    __tablename__ = "notification_unsubscribes"
    __table_args__ = (
        CheckConstraint(f"kind IN {NOTIFICATION_KINDS + (ALL_KINDS,)!r}", name="kind"),
        Index("ix_notification_unsubscribes_site_kind", "site_id", "kind"),
    )

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    created_at: Mapped[datetime]


class NotificationCampaign(Base):
    """One notice sent to a group of people (a targeted post, a new project, a reminder,
    one person's decision): what was said, and to how many.

    ``key`` makes a notice that must go out once idempotent ("post:12",
    "session_reminder:34"): a second attempt finds the campaign and sends nothing.
    Texts are kept per language ({"ja": …, "en": …}) so each person reads their own."""

    __tablename__ = "notification_campaigns"
    __table_args__ = (CheckConstraint(f"kind IN {NOTIFICATION_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_items.id", ondelete="SET NULL"), index=True, default=None
    )
    subject: Mapped[dict] = mapped_column(JSON)
    body: Mapped[dict] = mapped_column(JSON)
    link: Mapped[str] = mapped_column(String(500), default="")
    recipients: Mapped[int] = mapped_column(default=0)
    """People reached (inbox or email), counted when the campaign was made."""
    emails: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )

    site = relationship("Site")


class InboxMessage(Base):
    """お知らせ受信箱: one notice in one person's in-app inbox."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        CheckConstraint(f"kind IN {NOTIFICATION_KINDS!r}", name="kind"),
        Index("ix_inbox_messages_account_created", "account_id", "created_at"),
        Index("ix_inbox_messages_account_unread", "account_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_campaigns.id", ondelete="SET NULL"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None] = mapped_column(default=None)

    site = relationship("Site")


class PostTarget(Base):
    """Who a post is aimed at: registrants of its site with one of these tiers, one of
    these relationship types (類型①–④) and one of these interests. An empty list does not
    narrow; the three lists narrow together."""

    __tablename__ = "post_targets"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), primary_key=True
    )
    tiers: Mapped[list] = mapped_column(JSON, default=list)
    relationship_types: Mapped[list] = mapped_column(JSON, default=list)
    interests: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )


class OutboxMail(Base):
    """One mail of a campaign to one person, sent in batches by furusato-send-campaign.
    UNIQUE(campaign, account): a person is queued at most once per campaign."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        UniqueConstraint("campaign_id", "account_id"),
        CheckConstraint(f"state IN {OUTBOX_STATES!r}", name="state"),
        Index("ix_mail_outbox_state_campaign", "state", "campaign_id", "id"),
        Index("ix_mail_outbox_claim", "claim"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("notification_campaigns.id", ondelete="CASCADE")
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    claim: Mapped[str | None] = mapped_column(String(32), default=None)
    """The batch that took the row for sending."""
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(String(300), default="")
