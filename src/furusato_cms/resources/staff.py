"""The staff of a site (/s/{code}/staff/): memberships and invitations."""
from ..models import StaffMembership
from .base import SiteItemContainer


class StaffMemberResource:
    def __init__(self, parent, membership):
        self.__parent__ = parent
        self.__name__ = str(membership.id)
        self.membership = membership
        self.site = parent.site


class StaffContainer(SiteItemContainer):
    """Inherits the site's ACL; views here need ``site:staff:manage``."""

    __name__ = "staff"
    model = StaffMembership
    item_class = StaffMemberResource
