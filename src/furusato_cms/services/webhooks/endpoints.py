"""A site's webhook endpoints as its site admin manages them: register, edit, disable and
enable, rotate the secret, read the delivery log and replay a delivery.

- An endpoint belongs to a site (not yet to an API client: see the README's API section).
- The signing secret is shown once, when made or rotated; pages never show it again.
  A rotation keeps the previous secret signing beside the new one for ``ROTATION_GRACE``
  so the receiver can switch without dropping events.
- A disabled endpoint is given no new events and its pending deliveries wait (the worker
  skips them); enabling it sends those again from where they were.
- URLs: ``http`` or ``https``, no user name or password in them; a host written as a
  non-public IP address or ``localhost`` is refused unless the setting allows private
  addresses. Host names are checked again, resolved, at every POST (``transport.py``).
- Every change and every replay is in the audit log (never the secret). Reading the log is
  not: it holds ids, types and pseudonymous references, no personal data.
- Owned by a site, not by an API client, for now: the OAuth clients are built beside this.
  Tying them later is one nullable ``client_id`` on the endpoint (a client's endpoints are
  then managed and rotated with the client and suspended with it), and the pseudonymous
  reference could be keyed per client instead of per site."""
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...i18n import _
from ...models.webhook import EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ...models.webhook import WebhookSubscription
from ..audit import AuditLog
from ..errors import Conflict, InvalidInput
from .settings import WebhookSettings
from .signing import new_secret
from .transport import SCHEMES, address_allowed, literal_address

ROTATION_GRACE = timedelta(hours=24)
URL_MAX = 2000
DESCRIPTION_MAX = 200
LOG_PAGE = 50
EVENT_LABELS = {
    "registration.created": _("Registration made (registration.created)"),
    "registration.ended": _("Registration ended (registration.ended)"),
    "attendance.recorded": _("Attendance recorded (attendance.recorded)"),
    "premium.granted": _("Premium granted or renewed (premium.granted)"),
    "premium.ended": _("Premium ended (premium.ended)"),
}
STATE_LABELS = {"pending": _("Waiting to be sent"), "delivered": _("Delivered"),
                "failed": _("Failed")}


class WebhookEndpoints:
    def __init__(self, dbsession, *, clock, settings, options: WebhookSettings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.options = options
        self.audit = AuditLog(dbsession, clock)

    # -- endpoints ---------------------------------------------------------------

    def endpoints_of(self, site) -> list:
        return list(self.dbsession.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.site_id == site.id)
            .options(selectinload(WebhookEndpoint.subscriptions))
            .order_by(WebhookEndpoint.id)))

    def create(self, actor, site, *, url, description, event_types) -> tuple:
        """A new endpoint and its secret (to show once)."""
        url, types = self.checked_url(url), _checked_types(event_types)
        now = self.clock()
        endpoint = WebhookEndpoint(
            site_id=site.id, url=url, description=description or "", secret=new_secret(),
            enabled=True, created_at=now, updated_at=now, created_by_id=actor.account_id,
            subscriptions=[WebhookSubscription(event_type=t) for t in types])
        self.dbsession.add(endpoint)
        self.dbsession.flush()
        self._audit(actor, "webhooks.endpoint_create", endpoint, url=url, events=types)
        return endpoint, endpoint.secret

    def update(self, actor, endpoint, *, url, description, event_types):
        url, types = self.checked_url(url), _checked_types(event_types)
        endpoint.url, endpoint.description = url, description or ""
        kept = [s for s in endpoint.subscriptions if s.event_type in types]
        endpoint.subscriptions = kept + [
            WebhookSubscription(event_type=t) for t in types
            if t not in {s.event_type for s in kept}]
        endpoint.updated_at = self.clock()
        self.dbsession.flush()
        self._audit(actor, "webhooks.endpoint_update", endpoint, url=url, events=types)

    def set_enabled(self, actor, endpoint, enabled: bool):
        if endpoint.enabled == enabled:
            raise Conflict(_("The endpoint is already enabled.") if enabled
                           else _("The endpoint is already disabled."))
        endpoint.enabled = enabled
        endpoint.updated_at = self.clock()
        self.dbsession.flush()
        self._audit(actor, "webhooks.endpoint_enable" if enabled
                    else "webhooks.endpoint_disable", endpoint)

    def rotate(self, actor, endpoint) -> str:
        """A new secret; the old one keeps signing beside it for ROTATION_GRACE."""
        now = self.clock()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = now + ROTATION_GRACE
        endpoint.secret = new_secret()
        endpoint.updated_at = now
        self.dbsession.flush()
        self._audit(actor, "webhooks.secret_rotate", endpoint,
                    previous_until=endpoint.previous_secret_until.isoformat())
        return endpoint.secret

    def checked_url(self, url) -> str:
        url = (url or "").strip()
        if not url:
            raise InvalidInput(_("Enter the URL that receives the events."), "url")
        if len(url) > URL_MAX:
            raise InvalidInput(_("The URL is too long (at most ${n} characters).",
                                 mapping={"n": URL_MAX}), "url")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise InvalidInput(_("This is not a URL we can send to."), "url") from None
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise InvalidInput(_("Give a URL starting with https:// (or http://)."), "url")
        if parts.username or parts.password:
            raise InvalidInput(_("Leave the user name and password out of the URL: "
                                 "check the signature instead."), "url")
        if parts.fragment:
            raise InvalidInput(_("Leave the part after # out of the URL."), "url")
        if not self.options.allow_private_addresses and not _public_host(parts.hostname):
            raise InvalidInput(_("This URL points into a private network or this server. "
                                 "Give an address reachable from the internet."), "url")
        return url

    # -- the delivery log ----------------------------------------------------------

    def deliveries(self, endpoint, before_id: int | None = None) -> list:
        """The newest deliveries of the endpoint, LOG_PAGE at a time (keyset by id)."""
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        if before_id:
            query = query.where(WebhookDelivery.id < before_id)
        return list(self.dbsession.scalars(
            query.order_by(WebhookDelivery.id.desc()).limit(LOG_PAGE)))

    def delivery_in(self, endpoint, delivery_id: int) -> WebhookDelivery | None:
        return self.dbsession.scalar(select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id))

    def attempts_of(self, delivery) -> list:
        return list(self.dbsession.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id.desc())))

    def replay(self, actor, delivery):
        """Send again now, with the same id and body, and a fresh back-off schedule."""
        if delivery.state == "pending" and delivery.attempts == 0:
            raise Conflict(_("This delivery has not been sent yet; it goes out shortly."))
        delivery.state = "pending"
        delivery.failures = 0
        delivery.next_attempt_at = self.clock()
        self.dbsession.flush()
        self._audit(actor, "webhooks.replay", delivery, endpoint_id=delivery.endpoint_id,
                    message_id=delivery.message_id)

    def _audit(self, actor, action, target, **detail):
        self.audit.record(actor, action, site_id=target.site_id, target=target, **detail)


def _checked_types(event_types) -> list:
    types = sorted(set(event_types or ()))
    if not types:
        raise InvalidInput(_("Choose at least one kind of event."), "event_types")
    if any(t not in EVENT_TYPES for t in types):
        raise InvalidInput(_("Choose among the listed events."), "event_types")
    return types


def _public_host(host: str) -> bool:
    address = literal_address(host)
    if address is not None:
        return address_allowed(str(address), False)
    name = host.lower().rstrip(".")
    return name != "localhost" and not name.endswith((".localhost", ".local", ".internal"))
