"""Server-side sign-in sessions, recovery codes and the sign-in throttle, all kept in
the database."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base


class AuthSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored,
    so revoking the row signs the browser out everywhere it was copied to."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    second_factor_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the TOTP code was passed in this session; None until then."""
    client_addr: Mapped[str] = mapped_column(String(45), default="")

    account = relationship("Account")


class SigninThrottle(Base):
    """Sign-in tries per key ('account:<email>|addr:<ip>', 'addr:<ip>', 'account:<email>',
    or a request kind's own), for lock-out; see services.authentication.SigninThrottler."""

    __tablename__ = "signin_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class RecoveryCode(Base):
    """A one-time recovery code (リカバリーコード) that stands in for the TOTP code when
    the phone is lost: ten per account, shown once, stored hashed, each used once."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("account_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
