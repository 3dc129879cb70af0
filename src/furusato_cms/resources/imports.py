"""/s/{code}/imports/: the site's imports of earlier activity records (担い手活動実績の取込),
/s/{code}/imports/{id}: one import's stored report, and /s/{code}/imports/uploads/{id}: a
file kept between its check and its import. All inherit the site's ACL
(``site:attendance:import`` for the site admin and coordinators); a file or an import of
another site is not found."""
from ..models import AttendanceImport, ImportUpload
from .base import SiteItemContainer


class ImportResource:
    def __init__(self, parent, record):
        self.__parent__ = parent
        self.__name__ = str(record.id)
        self.record = record
        self.site = parent.site


class UploadResource:
    def __init__(self, parent, upload):
        self.__parent__ = parent
        self.__name__ = str(upload.id)
        self.upload = upload
        self.site = parent.site


class UploadsContainer(SiteItemContainer):
    __name__ = "uploads"
    model = ImportUpload
    item_class = UploadResource


class ImportsContainer(SiteItemContainer):
    __name__ = "imports"
    model = AttendanceImport
    item_class = ImportResource

    def __getitem__(self, name):
        if name == "uploads":
            return UploadsContainer(self, self.request)
        return super().__getitem__(name)

