"""The platform's terms of use (利用規約) and each site's privacy notice (個人情報の取扱い):
published versions, never changed once published, and who accepted which version when."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base


class TermsVersion(Base):
    """One published version of the terms of use; the highest number is the current one."""

    __tablename__ = "terms_versions"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(Text)
    """Markdown, as every edited text on the platform."""
    published_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True, default=None
    )


class TermsAcceptance(Base):
    """A person accepted one version; earlier rows stay, so the history is kept."""

    __tablename__ = "terms_acceptances"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(
        ForeignKey("terms_versions.version"), primary_key=True, index=True
    )
    accepted_at: Mapped[datetime]


class PrivacyNotice(Base):
    """One published version of a site's privacy notice; per site, the highest number
    is the current one."""

    __tablename__ = "privacy_notices"
    __table_args__ = (UniqueConstraint("site_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True, default=None
    )

    site = relationship("Site")


class PrivacyAcceptance(Base):
    """A person accepted one version of a site's notice (at registration or when asked)."""

    __tablename__ = "privacy_acceptances"
    __table_args__ = (Index("ix_privacy_acceptances_notice_id", "notice_id"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    notice_id: Mapped[int] = mapped_column(
        ForeignKey("privacy_notices.id", ondelete="CASCADE"), primary_key=True
    )
    accepted_at: Mapped[datetime]
