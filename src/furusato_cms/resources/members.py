"""/s/{code}/members/: the site's member lists and their invitations (会員名簿からの招待),
/s/{code}/members/{id}: one list (its check, then its funnel). Both inherit the site's ACL
(``site:members:invite`` for the site admin and coordinators); another site's list is not
found."""
from ..models import MemberImport
from .base import SiteItemContainer


class MemberImportResource:
    def __init__(self, parent, record):
        self.__parent__ = parent
        self.__name__ = str(record.id)
        self.record = record
        self.site = parent.site


class MembersContainer(SiteItemContainer):
    __name__ = "members"
    model = MemberImport
    item_class = MemberImportResource
