"""Staff of a site: memberships with a role, and invitations to become one."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base

STAFF_ROLES = ("site_admin", "editor", "coordinator", "partner")


class StaffMembership(Base):
    """An account's role at one site (自治体管理者 / 編集者 / コーディネーター / 関係団体)."""

    __tablename__ = "staff_memberships"
    __table_args__ = (
        UniqueConstraint("site_id", "account_id"),
        CheckConstraint(f"role IN {STAFF_ROLES!r}", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    is_reviewer: Mapped[bool] = mapped_column(default=False)
    """An editor with this flag may publish (公開承認)."""
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organisations.id"), index=True, default=None
    )
    """For the partner role: the organisation whose projects this person manages."""
    created_at: Mapped[datetime]

    account = relationship("Account", back_populates="memberships")
    site = relationship("Site")


class Invitation(Base):
    """A one-time link that lets a person set a password and join a site's staff.

    Only a hash of the token is stored; the link itself is shown once to the
    person who invited.
    """

    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint(f"role IN {STAFF_ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    is_reviewer: Mapped[bool] = mapped_column(default=False)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organisations.id"), index=True, default=None
    )
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    site = relationship("Site")
