"""The append-only audit log (監査ログ) of staff actions and staff reads of personal data."""
from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class AuditEntry(Base):
    """Who did what, when, from where.

    Rows are never updated or deleted: database triggers (see the first Alembic
    revision) refuse UPDATE and DELETE, and the ORM refuses to flush either.
    Actor and site are plain ids, not foreign keys, so the log outlives them.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_site_at", "site_id", "at"),
        Index("ix_audit_entries_actor_at", "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(default=None)
    actor_label: Mapped[str] = mapped_column(String(300), default="")
    action: Mapped[str] = mapped_column(String(100))
    site_id: Mapped[int | None] = mapped_column(default=None)
    target_type: Mapped[str] = mapped_column(String(50), default="")
    target_id: Mapped[str] = mapped_column(String(100), default="")
    client_addr: Mapped[str] = mapped_column(String(45), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
