"""The outbox (送信待ちの通知): events written in the same transaction as their cause.

Why an outbox and not a call out from the request: a POST made while the transaction is
open would announce changes that may still roll back, and one made after the commit is
lost if the process dies in between. A row written with the change commits or rolls back
with it; the worker (``delivery.py``) sends it afterwards, as often as needed. So each
event reaches each subscribed endpoint at least once, and its ``webhook-id`` lets the
receiver drop repeats.

Each writer adds one call here next to the history it already writes (registration
events, attendance rows). The call is one ``INSERT … SELECT`` that joins the changed rows
to the site's enabled endpoints subscribed to the event type: a site without such an
endpoint gets no row and pays one indexed look-up. The QR check-in on PostgreSQL runs
it inside its own insert (``attendance_recorded_with``), so a festival's taps pay no
statement for it. Set-based writers (the
inactivity release, renewal, imports) pass a SELECT of ids, so the cost does not grow
with the number of rows beyond the statement itself.

The rows hold ids and types only. The body (with the pseudonymous account reference) is
built by the worker from them, once (``payloads.py``)."""
from sqlalchemy import and_, insert, literal, null, select

from ...models import Attendance, Registration
from ...models.meta import UTCDateTime
from ...models.webhook import WebhookDelivery, WebhookEndpoint, WebhookSubscription

REGISTRATION_EVENTS = {
    "joined": ("registration.created", "joined"),
    "rejoined": ("registration.created", "rejoined"),
    "left": ("registration.ended", "left"),
    "released": ("registration.ended", "released"),
    "premium_granted": ("premium.granted", "approved"),
    "premium_renewed": ("premium.granted", "renewed"),
    "premium_fell_back": ("premium.ended", ""),
}
"""Registration history kinds (``RegistrationEvent.kind``) that are webhook events:
the event type and the reason it carries unless the writer names one."""

COLUMNS = ("endpoint_id", "site_id", "event_type", "reason", "occurred_at",
           "registration_id", "account_id", "attendance_id", "valid_until", "state",
           "attempts", "failures", "next_attempt_at")


def registration_changed(dbsession, kind: str, now, registration_ids, *, reason=None):
    """Queue the webhook event of a registration history ``kind`` (no-op for kinds that
    are none) for ``registration_ids``: a list of ids or a SELECT of them."""
    if kind not in REGISTRATION_EVENTS or _empty(registration_ids):
        return
    event_type, default_reason = REGISTRATION_EVENTS[kind]
    dbsession.flush()
    valid_until = Registration.premium_until if event_type == "premium.granted" else null()
    dbsession.execute(_insert(
        event_type, reason or default_reason, literal(now, UTCDateTime()),
        Registration.__table__,
        site_id=Registration.site_id, registration_id=Registration.id,
        account_id=Registration.account_id, attendance_id=null(), valid_until=valid_until,
        where=Registration.id.in_(_ids(registration_ids)),
    ))


def attendance_recorded(dbsession, now, attendance_ids):
    """Queue ``attendance.recorded`` for new attendance rows (a list of ids or a SELECT),
    with the person's registration with the site when they have one."""
    if _empty(attendance_ids):
        return
    dbsession.execute(_attendance_insert(
        Attendance.__table__, literal(now, UTCDateTime()),
        where=Attendance.id.in_(_ids(attendance_ids))))


def attendance_recorded_with(created):
    """``attendance_recorded`` as a statement to run inside the insert that makes the
    rows: ``created`` is that insert's ``RETURNING`` as a CTE (PostgreSQL), and each
    event's moment is its row's ``recorded_at``. The QR check-in then writes its row and
    its events in one statement."""
    return _attendance_insert(created, created.c.recorded_at)


def _attendance_insert(rows, moment, where=None):
    source = rows.outerjoin(
        Registration.__table__,
        and_(Registration.account_id == rows.c.account_id,
             Registration.site_id == rows.c.site_id))
    return _insert(
        "attendance.recorded", "", moment, source,
        site_id=rows.c.site_id, registration_id=Registration.id,
        account_id=rows.c.account_id, attendance_id=rows.c.id, valid_until=null(),
        where=where,
    )


def _empty(ids) -> bool:
    return isinstance(ids, (list, tuple, set, frozenset)) and not ids


def _ids(ids):
    """A list as it is; a SELECT read through a subquery, so that a SELECT of the same
    table is never correlated into the outer statement."""
    if isinstance(ids, (list, tuple, set, frozenset)):
        return list(ids)
    subquery = ids.subquery()
    return select(subquery.c[subquery.c.keys()[0]])


def _insert(event_type, reason, moment, source, *, site_id, registration_id, account_id,
            attendance_id, valid_until, where):
    rows = (
        select(WebhookEndpoint.id, site_id, literal(event_type), literal(reason), moment,
               registration_id, account_id, attendance_id, valid_until, literal("pending"),
               literal(0), literal(0), moment)
        .select_from(source)
        .join(WebhookEndpoint, and_(WebhookEndpoint.site_id == site_id,
                                    WebhookEndpoint.enabled.is_(True)))
        .join(WebhookSubscription, and_(WebhookSubscription.endpoint_id == WebhookEndpoint.id,
                                        WebhookSubscription.event_type == event_type))
    )
    if where is not None:
        rows = rows.where(where)
    return insert(WebhookDelivery).from_select(list(COLUMNS), rows)
