"""Signing by the Standard Webhooks scheme (https://www.standardwebhooks.com/).

The secret is ``whsec_`` and the base64 of random bytes; the signature is
``v1,<base64 of HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>``. During a
secret rotation both the new and the previous secret sign, separated by a space, as the
scheme allows, so a receiver still holding the old secret keeps verifying."""
import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    """The ``webhook-id`` of a delivery: random, so it reveals no count of events."""
    return "msg_" + secrets.token_urlsafe(18)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(signing_secrets, message_id: str, timestamp: int, body: bytes) -> dict:
    """The headers of one POST: id, timestamp (seconds) and a signature per secret."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in signing_secrets),
    }
