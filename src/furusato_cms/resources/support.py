"""Support measures under a site (/s/{code}/support/…).

- ``/s/{code}/support/`` the public list; staff views ``manage`` and ``new`` (site ACL:
  ``site:support:edit`` for the site admin and editors);
- ``/s/{code}/support/{id}`` a measure: public, and open to registrants' applications
  (``site:support:apply``), only while published and inside its dates on an active
  site; staff views ``edit`` and ``transition``;
- ``/s/{code}/support/offers/{id}`` a partner business's offer (優待), public likewise;
- ``/s/{code}/support/applications/`` the queue, ``export.csv``, and ``{id}`` one
  application with ``receipts/{id}``: the site's handlers only (site ACL:
  ``site:support:handle`` for the site admin and coordinators).
"""
from pyramid.authorization import Allow, Deny, Everyone
from sqlalchemy import select

from ..models import PartnerOffer, SupportApplication, SupportMeasure, SupportReceipt
from ..permissions import Permissions as P
from .base import SiteChild, SiteItemContainer, is_number


def _public_acl(resource, item, registrant_permissions=()):
    """Visible content is public (and open to registrants for ``registrant_permissions``);
    otherwise nobody may see it here: staff work on it through their own views."""
    if resource.site.is_public and item.is_visible_at(resource.request.clock()):
        acl = [(Allow, Everyone, P.VIEW)]
        if registrant_permissions:
            acl.append((Allow, "kind:registrant", registrant_permissions))
        return acl
    return [(Deny, Everyone, (P.VIEW, *registrant_permissions))]


class MeasureResource:
    def __init__(self, parent, measure, request):
        self.__parent__ = parent
        self.__name__ = str(measure.id)
        self.measure = measure
        self.site = parent.site
        self.request = request

    @property
    def __acl__(self):
        return _public_acl(self, self.measure, (P.SUPPORT_APPLY,))


class OfferResource:
    def __init__(self, parent, offer, request):
        self.__parent__ = parent
        self.__name__ = str(offer.id)
        self.offer = offer
        self.site = parent.site
        self.request = request

    @property
    def __acl__(self):
        return _public_acl(self, self.offer)


def _find(request, model, site, name):
    if not is_number(name):
        raise KeyError(name)
    row = request.dbsession.scalar(
        select(model).where(model.id == int(name), model.site_id == site.id)
    )
    if row is None:
        raise KeyError(name)
    return row


class OffersContainer(SiteChild):
    """``offers/``: staff views ``new``; each offer by id."""

    __name__ = "offers"

    def __getitem__(self, name):
        return OfferResource(self, _find(self.request, PartnerOffer, self.site, name),
                             self.request)


class ReceiptResource:
    def __init__(self, parent, receipt):
        self.__parent__ = parent
        self.__name__ = str(receipt.id)
        self.receipt = receipt
        self.site = parent.site


class ReceiptsContainer:
    __name__ = "receipts"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request
        self.site = parent.site
        self.application = parent.application

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        receipt = self.request.dbsession.scalar(
            select(SupportReceipt).where(SupportReceipt.id == int(name),
                                         SupportReceipt.application_id == self.application.id)
        )
        if receipt is None:
            raise KeyError(name)
        return ReceiptResource(self, receipt)


class ApplicationResource:
    def __init__(self, parent, application):
        self.__parent__ = parent
        self.__name__ = str(application.id)
        self.application = application
        self.site = parent.site
        self.request = parent.request

    def __getitem__(self, name):
        if name == "receipts":
            return ReceiptsContainer(self, self.request)
        raise KeyError(name)


class ApplicationsContainer(SiteItemContainer):
    __name__ = "applications"
    model = SupportApplication
    item_class = ApplicationResource


class SupportContainer(SiteChild):
    __name__ = "support"

    def __getitem__(self, name):
        if name == "offers":
            return OffersContainer(self, self.request)
        if name == "applications":
            return ApplicationsContainer(self, self.request)
        return MeasureResource(self, _find(self.request, SupportMeasure, self.site, name),
                               self.request)
