"""The staff of a site (/s/{code}/staff/): memberships and invitations."""
from sqlalchemy import select

from ..models import StaffMembership


class StaffContainer:
    """Inherits the site's ACL; views here need ``site:staff:manage``."""

    __name__ = "staff"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request
        self.site = parent.site

    def __getitem__(self, name):
        if not name.isdigit():
            raise KeyError(name)
        membership = self.request.dbsession.scalar(
            select(StaffMembership).where(
                StaffMembership.id == int(name), StaffMembership.site_id == self.site.id
            )
        )
        if membership is None:
            raise KeyError(name)
        return StaffMemberResource(self, membership)


class StaffMemberResource:
    def __init__(self, parent, membership):
        self.__parent__ = parent
        self.__name__ = str(membership.id)
        self.membership = membership
        self.site = parent.site
