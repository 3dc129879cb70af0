"""/s/{code}/needs/: local needs (地域課題・担い手ニーズ) and /s/{code}/needs/{id}: one need.

Who submits: people registered with the Furusato resident registration (any registrant
account, while the site is public), the site's partner organisations, coordinators and
site admins. Who triages (and reads every need, contacts included): coordinators and site
admins. A submitter reads their own needs, with the state and any reason given. Everything
else falls through to the site's ACL, which ends in DENY_ALL."""
from pyramid.authorization import Allow
from sqlalchemy import select

from ..models import Need
from ..permissions import Permissions as P
from ..security import site_principal
from .base import SiteChild, is_number

TRIAGERS = ("coordinator", "site_admin")


class NeedResource:
    def __init__(self, parent, need):
        self.__parent__ = parent
        self.__name__ = str(need.id)
        self.need = need
        self.site = parent.site

    @property
    def __acl__(self):
        return [(Allow, f"account:{self.need.submitted_by_id}", P.NEED_VIEW)]


class NeedsContainer(SiteChild):
    __name__ = "needs"

    @property
    def __acl__(self):
        site = self.site
        acl = [(Allow, site_principal(site.id, role), (P.NEED_SUBMIT, P.NEED_VIEW, P.NEED_TRIAGE))
               for role in TRIAGERS]
        acl.append((Allow, site_principal(site.id, "partner"), P.NEED_SUBMIT))
        if site.is_public:
            acl.append((Allow, "kind:registrant", P.NEED_SUBMIT))
        return acl

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        need = self.request.dbsession.scalar(
            select(Need).where(Need.id == int(name), Need.site_id == self.site.id))
        if need is None:
            raise KeyError(name)
        return NeedResource(self, need)
