"""Traversal: Root -> s -> Site -> containers -> items. Each resource computes its ``__acl__``
from the database state and the roles; anything not allowed is denied."""
from pyramid.authorization import ALL_PERMISSIONS, DENY_ALL, Allow, Authenticated, Everyone

from ..permissions import Permissions as P
from .my import MyArea
from .operator import OperatorArea
from .site import SiteContainer


class Root:
    __name__ = ""
    __parent__ = None

    def __init__(self, request):
        self.request = request

    @property
    def __acl__(self):
        return [
            (Allow, Everyone, (P.VIEW, P.JOIN_APPLY, P.SIGN_UP)),
            (Allow, Authenticated, P.ACCOUNT_MANAGE),
            DENY_ALL,
        ]

    def __getitem__(self, name):
        if name == "s":
            return SiteContainer(self, self.request)
        if name == "operator":
            return OperatorArea(self, self.request)
        if name == "my":
            return MyArea(self, self.request)
        raise KeyError(name)


def root_factory(request):
    return Root(request)


__all__ = ["Root", "root_factory", "ALL_PERMISSIONS", "Everyone"]
