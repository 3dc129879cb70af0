"""Uploaded files of activity records kept between the check and the import (取込ファイルの
一時保管): staff check a file, read the report, then import it — or only its valid rows —
or download the rows to fix, without choosing the file again."""
import hashlib
import io
from datetime import timedelta

from sqlalchemy import delete, select

from ..models import ImportUpload
from .activity_import import ActivityImportService
from .import_corrections import corrections_file
from .tabular_files import bounded_file, upload_name

KEPT_FOR = timedelta(hours=24)
"""Long enough to fix a file over a working day; then the personal data in it goes."""


class ImportUploads:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.imports = ActivityImportService(dbsession, clock=clock, settings=settings)

    def check_and_keep(self, actor, site, filename, stream) -> tuple:
        """``(upload, report)``: the file checked as for importing its valid rows, and
        kept when it has data rows (None otherwise: a wrong or empty template is chosen
        again anyway). FileError when it cannot be used at all (type, size, damage).
        Uploads older than ``KEPT_FOR`` are dropped."""
        content = bounded_file(stream, self.settings.upload_max_bytes).read()
        filename = upload_name(filename)
        report = self.imports.import_file(actor, site, filename, io.BytesIO(content),
                                          dry_run=True, valid_rows_only=True)
        now = self.clock()
        self.dbsession.execute(delete(ImportUpload).where(ImportUpload.created_at < now - KEPT_FOR))
        if not report.rows_read:
            return None, report
        upload = ImportUpload(site_id=site.id, uploaded_by_id=actor.account_id,
                              filename=filename, size=len(content),
                              sha256=hashlib.sha256(content).hexdigest(), content=content,
                              created_at=now)
        self.dbsession.add(upload)
        self.dbsession.flush()
        return upload, report

    def kept_for(self, record) -> ImportUpload | None:
        """The kept file an import was made from, while it is kept (same site and bytes)."""
        return self.dbsession.scalar(
            select(ImportUpload).where(ImportUpload.site_id == record.site_id,
                                       ImportUpload.sha256 == record.sha256,
                                       ImportUpload.created_at >= self.clock() - KEPT_FOR)
            .order_by(ImportUpload.id.desc()).limit(1))

    def is_current(self, upload: ImportUpload) -> bool:
        return upload.created_at >= self.clock() - KEPT_FOR

    def check(self, actor, site, upload):
        """What importing the valid rows would do, errors included (nothing is written)."""
        return self._run(actor, site, upload, dry_run=True, valid_rows_only=True)

    def import_upload(self, actor, site, upload, *, valid_rows_only: bool):
        return self._run(actor, site, upload, dry_run=False, valid_rows_only=valid_rows_only)

    def corrections(self, actor, site, upload, translate) -> tuple:
        """``(filename, content type, bytes)``: the refused rows to fix and upload again,
        with the problems in ``translate``'s language."""
        report = self.check(actor, site, upload)
        kind, rows = self.imports.raw_rows(upload.filename, io.BytesIO(upload.content))
        return corrections_file(upload.filename, kind, rows, report, upload.content, translate)

    def _run(self, actor, site, upload, **mode):
        return self.imports.import_file(actor, site, upload.filename,
                                        io.BytesIO(upload.content), **mode)
