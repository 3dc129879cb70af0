"""The webhook settings, read from the ini (``furusato.webhooks.*``).

They live here rather than in ``appsettings.py`` because only this package and its
admin screen read them."""
import hashlib
import hmac
import os
from dataclasses import dataclass


def _bool(value) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class WebhookSettings:
    allow_private_addresses: bool = False
    """Whether endpoints may be on loopback, private, link-local or other non-global
    addresses. Off in production (a site admin must not make the server call into its own
    network); on in development.ini and the tests, whose receivers listen on 127.0.0.1."""
    timeout_seconds: float = 10.0
    """Connect and read time-out of one POST."""
    pseudonym_key: bytes = b""
    """Keys the pseudonymous account reference in payloads (``acct_…``)."""
    batch_size: int = 20
    lease_seconds: int = 120
    """How long a claimed delivery is left to its worker before another may send it."""
    poll_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings, session_secret: str) -> "WebhookSettings":
        get = settings.get
        key = (os.environ.get("FURUSATO_WEBHOOK_PSEUDONYM_KEY")
               or get("furusato.webhooks.pseudonym_key") or "")
        return cls(
            allow_private_addresses=_bool(get("furusato.webhooks.allow_private_addresses")),
            timeout_seconds=float(get("furusato.webhooks.timeout_seconds")
                                  or cls.timeout_seconds),
            pseudonym_key=key.encode() if key else derived_key(session_secret),
            batch_size=int(get("furusato.webhooks.batch_size") or cls.batch_size),
            poll_seconds=float(get("furusato.webhooks.poll_seconds") or cls.poll_seconds),
        )


def derived_key(session_secret: str) -> bytes:
    """Without a key of its own, one derived from the session secret (set
    ``furusato.webhooks.pseudonym_key`` in production: changing the session secret would
    otherwise change every reference receivers have stored)."""
    return hmac.new(session_secret.encode(), b"furusato webhook account reference",
                    hashlib.sha256).digest()


def webhook_settings(registry) -> WebhookSettings:
    """The settings of a running app, read once."""
    if "webhook_settings" not in registry:
        registry["webhook_settings"] = WebhookSettings.from_settings(
            registry.settings, registry["app_settings"].session_secret)
    return registry["webhook_settings"]
