"""A registrant's own area (/my/): registrations, identity, card, data."""
from pyramid.authorization import DENY_ALL, Allow

from ..permissions import Permissions as P
from ..security import read_with_identity
from ..services.feed import FeedService
from ..services.registration import RegistrationService


def my_page_reads(request, account, *, page=1) -> list:
    """What /my/ reads: the person's registrations (with verification and due notices)
    and one page of their feed."""
    return [request.service(RegistrationService).listing_read(account),
            request.service(FeedService).for_you_read(account, page=page)]


class MyArea:
    """Only registrant accounts; each view works on the signed-in person's own data."""

    __name__ = "my"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request
        if request.method == "GET" and request.path_info == "/my/" and not request.GET:
            read_with_identity(request, lambda account: my_page_reads(request, account))

    __acl__ = [(Allow, "kind:registrant", P.REGISTRANT_SELF), DENY_ALL]
