"""Identity verified with the My Number Card (マイナンバーカードによる本人確認).

Only the verified attributes are kept — name, address, date of birth, gender —
with the provider's subject id and the time; never the 個人番号 itself.
"""
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base


class IdentityVerification(Base):
    """One verified person per account, and one account per verified person:
    both are unique, so the database refuses a second account for the same person."""

    __tablename__ = "identity_verifications"
    __table_args__ = (
        UniqueConstraint("issuer", "subject"),
        # Matching imported activity records to verified people (activity_import._accounts).
        Index("ix_identity_verifications_birthdate_postal_code", "birthdate", "postal_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    """Seven digits, no hyphen (as services.identity normalises it)."""
    home_code: Mapped[str | None] = mapped_column(String(6), index=True, default=None)
    """The 全国地方公共団体コード of the verified address: the person's home municipality."""
    home_name: Mapped[str] = mapped_column(String(100), default="")
    """That municipality's name when it was found (e.g. 長野市), shown to the person."""
    birthdate: Mapped[date]
    gender: Mapped[str] = mapped_column(String(20), default="")
    verified_at: Mapped[datetime]

    account = relationship("Account")
    guardian_consent = relationship(
        "GuardianConsent", uselist=False, back_populates="verification",
        cascade="all, delete-orphan",
    )

    @property
    def home_prefecture_code(self) -> str | None:
        return self.home_code[:2] if self.home_code else None


class GuardianConsent(Base):
    """保護者の同意: recorded for a person under 18 at verification; premium needs it."""

    __tablename__ = "guardian_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    verification_id: Mapped[int] = mapped_column(
        ForeignKey("identity_verifications.id", ondelete="CASCADE"), unique=True
    )
    guardian_name: Mapped[str] = mapped_column(String(200))
    relationship_to_minor: Mapped[str] = mapped_column(String(50))
    guardian_email: Mapped[str] = mapped_column(String(254), default="")
    """Where the confirmation link was sent; the guardian needs no account."""
    recorded_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    """The guardian's own confirmation step; consent counts only once confirmed."""
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    """SHA-256 of the one-time confirmation link's token; cleared once used."""
    token_expires_at: Mapped[datetime | None] = mapped_column(default=None)

    verification = relationship("IdentityVerification", back_populates="guardian_consent")
