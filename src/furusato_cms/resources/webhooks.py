"""/s/{code}/webhooks/: the site's webhook endpoints; /s/{code}/webhooks/{id}/ one
endpoint and its delivery log; /s/{code}/webhooks/{id}/{delivery id} one delivery.

Only the site's admins manage them (``site:webhooks:manage``), while the site is active
or suspended: the secrets and the log are the site's integration with its own systems,
which coordinators, editors and partners have no part in. An id of another site's
endpoint or delivery is simply not found here."""
from pyramid.authorization import DENY_ALL, Allow
from sqlalchemy import select

from ..models.webhook import WebhookDelivery, WebhookEndpoint
from ..permissions import Permissions as P
from ..security import site_principal
from .base import SiteItemContainer, is_number

MANAGING_STATES = ("active", "suspended")


class DeliveryResource:
    def __init__(self, parent, delivery):
        self.__parent__ = parent
        self.__name__ = str(delivery.id)
        self.delivery = delivery
        self.site = parent.site


class EndpointResource:
    def __init__(self, parent, endpoint):
        self.__parent__ = parent
        self.__name__ = str(endpoint.id)
        self.endpoint = endpoint
        self.site = parent.site
        self.request = parent.request

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        delivery = self.request.dbsession.scalar(select(WebhookDelivery).where(
            WebhookDelivery.id == int(name), WebhookDelivery.endpoint_id == self.endpoint.id))
        if delivery is None:
            raise KeyError(name)
        return DeliveryResource(self, delivery)


class WebhooksContainer(SiteItemContainer):
    __name__ = "webhooks"
    model = WebhookEndpoint
    item_class = EndpointResource

    @property
    def __acl__(self):
        acl = []
        if self.site.state in MANAGING_STATES:
            acl.append((Allow, site_principal(self.site.id, "site_admin"), P.WEBHOOKS_MANAGE))
        acl.append(DENY_ALL)
        return acl
