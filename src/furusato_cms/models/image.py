"""Images uploaded by editors, stored re-encoded and resized for the web."""
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


def new_image_key() -> str:
    return secrets.token_urlsafe(16)


class Image(Base):
    """Kept in the database so app servers stay stateless; re-encoding drops EXIF (and GPS)."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_key: Mapped[str] = mapped_column(String(32), unique=True, default=new_image_key)
    """The image's address (/s/{code}/images/{key}): 128 random bits, so an image uploaded
    for a draft cannot be found by counting ids before its text is published."""
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    media_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int]
    height: Mapped[int]
    byte_size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    alt_text: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
