"""A registrant's own area (/my/): registrations, identity, card, data."""
from pyramid.authorization import DENY_ALL, Allow

from ..permissions import Permissions as P


class MyArea:
    """Only registrant accounts; each view works on the signed-in person's own data."""

    __name__ = "my"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request

    __acl__ = [(Allow, "kind:registrant", P.REGISTRANT_SELF), DENY_ALL]
