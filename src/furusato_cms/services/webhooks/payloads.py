"""The body of each event (Standard Webhooks form: ``type``, ``timestamp``, ``data``).

Data minimisation: a body names the site by its code, the registration and attendance by
id, and the person only by a pseudonymous reference (``acct_…``, an HMAC of the site and
the account id under a server key). The reference is the same for one person at one site
— so a receiver can relate a check-in to a registration — and differs between sites, so
two municipalities cannot match their people through it. No name, email, address or
birth date ever goes out; a site's system that needs more asks the API, where the
registrant's consent decides."""
import base64
import hashlib
import hmac
import json

from sqlalchemy import select

from ...models import ActivitySession, Attendance, Site
from ...models.webhook import WebhookDelivery


def account_reference(key: bytes, site_code: str, account_id: int | None) -> str | None:
    if account_id is None:
        return None
    digest = hmac.new(key, f"{site_code}:{account_id}".encode(), hashlib.sha256).digest()
    return "acct_" + base64.b32encode(digest[:15]).decode().lower()


def _time(moment) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def bodies(dbsession, delivery_ids, key: bytes) -> dict:
    """``{delivery id: body bytes}`` for the deliveries, from one query."""
    rows = dbsession.execute(
        select(WebhookDelivery, Site.code, Attendance.session_id, Attendance.attended_at,
               Attendance.source, Attendance.designated, ActivitySession.project_id)
        .join(Site, Site.id == WebhookDelivery.site_id)
        .outerjoin(Attendance, Attendance.id == WebhookDelivery.attendance_id)
        .outerjoin(ActivitySession, ActivitySession.id == Attendance.session_id)
        .where(WebhookDelivery.id.in_(list(delivery_ids)))
    ).all()
    return {row.WebhookDelivery.id: encode(body_of(row, key)) for row in rows}


def body_of(row, key: bytes) -> dict:
    delivery = row.WebhookDelivery
    data = {
        "site": row.code,
        "registration_id": delivery.registration_id,
        "account": account_reference(key, row.code, delivery.account_id),
    }
    if delivery.event_type == "attendance.recorded":
        data.update(attendance_id=delivery.attendance_id, session_id=row.session_id,
                    project_id=row.project_id, attended_at=_time(row.attended_at),
                    source=row.source, designated=row.designated)
    else:
        data["reason"] = delivery.reason
    if delivery.event_type == "premium.granted":
        data["valid_until"] = _time(delivery.valid_until)
    return {"type": delivery.event_type, "timestamp": _time(delivery.occurred_at),
            "data": data}


def encode(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
