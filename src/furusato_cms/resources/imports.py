"""/s/{code}/imports/: the site's imports of earlier activity records (担い手活動実績の取込)
and /s/{code}/imports/{id}: one import's stored report. Both inherit the site's ACL
(``site:attendance:import`` for the site admin and coordinators)."""
from ..models import AttendanceImport
from .base import SiteItemContainer


class ImportResource:
    def __init__(self, parent, record):
        self.__parent__ = parent
        self.__name__ = str(record.id)
        self.record = record
        self.site = parent.site


class ImportsContainer(SiteItemContainer):
    __name__ = "imports"
    model = AttendanceImport
    item_class = ImportResource
