"""An uploaded file of activity records kept between the check and the import
(取込ファイルの一時保管), so staff never choose the file again."""
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class ImportUpload(Base):
    """The file's bytes as uploaded, for one site, for a day (``services.import_uploads``
    deletes older ones). In the database rather than on disk: every app process and
    every machine behind the load balancer sees it, and it goes with the transaction
    that checked it. Uploads are bounded by ``upload_max_bytes`` (a few MB)."""

    __tablename__ = "import_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True,
                                                       default=None)
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)
