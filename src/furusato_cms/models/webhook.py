"""Webhooks (ウェブフック): a site's endpoints, the event types each takes, and the outbox of
deliveries the worker sends (``services/webhooks``).

One aggregate: an endpoint with its subscriptions, its deliveries and their attempts.
Deliveries are the outbox — written in the same transaction as the change that causes
them — and keep ids and types, never a person's name or address."""
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base

EVENT_TYPES = (
    "registration.created",
    "registration.ended",
    "attendance.recorded",
    "premium.granted",
    "premium.ended",
)
DELIVERY_STATES = ("pending", "delivered", "failed")


class WebhookEndpoint(Base):
    """A URL of a site's own system that receives signed events.

    The signing secret is kept as issued (like a TOTP secret): HMAC needs the key itself.
    After a rotation the previous secret still signs, beside the new one, until
    ``previous_secret_until``, so a receiver can switch without losing events."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[str] = mapped_column(String(100))
    """``whsec_`` and the base64 of 32 random bytes (the Standard Webhooks form)."""
    previous_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    previous_secret_until: Mapped[datetime | None] = mapped_column(default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), default=None)

    subscriptions = relationship("WebhookSubscription", cascade="all, delete-orphan",
                                 order_by="WebhookSubscription.event_type")

    __table_args__ = (
        Index("ix_webhook_endpoints_created_by_id", "created_by_id",
              postgresql_where=text("created_by_id IS NOT NULL"),
              sqlite_where=text("created_by_id IS NOT NULL")),
    )

    @property
    def event_types(self) -> list:
        return [subscription.event_type for subscription in self.subscriptions]


class WebhookSubscription(Base):
    """An event type an endpoint takes: one row each, so the outbox insert finds the
    subscribed endpoints of a site by index (no list parsing in SQL)."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        CheckConstraint(f"event_type IN {EVENT_TYPES!r}", name="event_type"),
    )

    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(40), primary_key=True)


class WebhookDelivery(Base):
    """One event for one endpoint (the outbox row), sent until the endpoint answers 2xx.

    The subject is kept as ids (registration, account, attendance) with the facts that do
    not change (reason, premium end); the body is built and stored by the worker when it
    first claims the row, together with ``message_id`` (the ``webhook-id`` header), so
    every retry and replay sends the same bytes under the same id. Subject ids are not
    foreign keys: an outbox row must never stop a person's data from being deleted."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"state IN {DELIVERY_STATES!r}", name="state"),
        Index("ix_webhook_deliveries_due", "next_attempt_at",
              postgresql_where=text("state = 'pending'"),
              sqlite_where=text("state = 'pending'")),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_site", "site_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    event_type: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(40), default="")
    occurred_at: Mapped[datetime]
    registration_id: Mapped[int | None] = mapped_column(default=None)
    account_id: Mapped[int | None] = mapped_column(default=None)
    attendance_id: Mapped[int | None] = mapped_column(default=None)
    valid_until: Mapped[datetime | None] = mapped_column(default=None)
    """The end of the premium period, for premium.granted."""
    message_id: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    payload: Mapped[str | None] = mapped_column(Text, default=None)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    """Failed attempts since the last success or replay: the back-off step."""
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    endpoint = relationship("WebhookEndpoint")


class WebhookAttempt(Base):
    """One POST of a delivery: what came back (status, time taken, an excerpt) or why
    nothing did."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(String(300), default="")
    response_excerpt: Mapped[str] = mapped_column(String(1000), default="")
