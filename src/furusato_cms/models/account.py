"""People who sign in: staff (職員) and, later, registrants (登録者)."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base

ACCOUNT_KINDS = ("staff", "registrant")


class Account(Base):
    """One sign-in identity. Staff roles come from memberships, never from the account kind."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(f"kind IN {ACCOUNT_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    """Stored lower-cased so uniqueness ignores case."""
    display_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="staff")
    is_operator: Mapped[bool] = mapped_column(default=False)
    """National operator (国/総務省)."""
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    totp_last_step: Mapped[int | None] = mapped_column(default=None)
    """The last accepted TOTP time step, so one code cannot be replayed."""
    email_confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    locale: Mapped[str] = mapped_column(String(5), default="ja")
    created_at: Mapped[datetime]
    last_signin_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    declared_home_code: Mapped[str | None] = mapped_column(String(6), default=None)
    """居住地の申告: the municipality of the postal code the person declared (only the
    code is kept); a verified address wins over it (services.home)."""
    ask_relationship_types: Mapped[bool] = mapped_column(default=False)
    """Ask once, on the next visit, for the 類型 of registrations left unanswered when
    the types were aligned with the national guideline (migration 0012)."""

    memberships = relationship(
        "StaffMembership", back_populates="account", cascade="all, delete-orphan"
    )

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None

    def __repr__(self):
        return f"<Account {self.id} {self.kind}>"


EMAIL_TOKEN_PURPOSES = ("confirm_email", "reset_password")


class EmailToken(Base):
    """A one-time link sent by mail (address confirmation, password reset); stored hashed."""

    __tablename__ = "email_tokens"
    __table_args__ = (CheckConstraint(f"purpose IN {EMAIL_TOKEN_PURPOSES!r}", name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
