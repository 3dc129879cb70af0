"""Webhooks (ウェブフック) for a site's own systems: events written to an outbox with the
change that causes them, sent signed by a worker, retried with back-off, logged and
replayable. See ``outbox.py`` (why an outbox), ``delivery.py`` (the worker),
``payloads.py`` (what a body may say), ``signing.py`` and ``transport.py``."""
from .delivery import MAX_ATTEMPTS, SCHEDULE, DeliveryWorker, next_delay
from .endpoints import EVENT_LABELS, STATE_LABELS, WebhookEndpoints
from .outbox import attendance_recorded, attendance_recorded_with, registration_changed
from .payloads import account_reference
from .settings import WebhookSettings, webhook_settings
from .signing import new_secret, signature, signed_headers

__all__ = [
    "MAX_ATTEMPTS", "SCHEDULE", "DeliveryWorker", "next_delay", "EVENT_LABELS",
    "STATE_LABELS", "WebhookEndpoints", "attendance_recorded", "attendance_recorded_with", "registration_changed",
    "account_reference", "WebhookSettings", "webhook_settings", "new_secret", "signature",
    "signed_headers",
]
