"""The short code on a registrant's card code page (提示用コード), which venue staff type
or scan to record the person's attendance."""
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class CardCode(Base):
    """One live code per account: issuing a new one replaces the previous code.

    The digits are stored as issued (not hashed): a code is worth ten minutes of one
    person's attendance recording by signed-in staff, and the page must show it again
    when reopened."""

    __tablename__ = "card_codes"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(12), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
