"""A municipality's own server (/api/v1/sites/{code}/registrations|attendance|applications):
client credentials of that site only (``resources.api.ApiSiteContext``); the rules and what
may go out are in services/site_records.py. Every read of people's data is audited with the
client's id."""
from pyramid.httpexceptions import HTTPNotFound
from pyramid.view import view_config

from ..i18n import _
from ..permissions import Permissions as P
from ..services.errors import Conflict, InvalidInput, NotAllowed
from ..services.site_records import SiteRecords
from ..services.webhooks import account_reference, webhook_settings
from .api import problem
from .api_shapes import query_of, when, when_or_none
from .oauth_api import audit_api_read

DEFAULT_LIMIT = 50


def _site(request):
    site = request.context.site
    if site is None:
        raise HTTPNotFound(_("No participating local government has this code."))
    return site


def _reference(request, site):
    key = webhook_settings(request.registry).pseudonym_key
    return lambda account_id: account_reference(key, site.code, account_id)


@view_config(route_name="api_site_registrations", request_method="GET", renderer="json",
             openapi=True, permission=P.API_SITE_REGISTRATIONS_READ)
def site_registrations(request):
    site, query = _site(request), query_of(request)
    records = request.service(SiteRecords)
    found = records.registrations(
        site, cursor=query.get("cursor"), limit=query.get("limit", DEFAULT_LIMIT),
        state=query.get("state"), tier=query.get("tier"),
        changed_since=query.get("changed_since"))
    answers = records.answers_of(found.items)
    reference = _reference(request, site)
    audit_api_read(request, [r.account_id for r in found.items], "registrations")
    return {"next_cursor": found.next_cursor, "items": [{
        "id": r.id, "account": reference(r.account_id), "tier": r.tier, "state": r.state,
        "registered_at": when(r.registered_at), "state_changed_at": when(r.state_changed_at),
        "premium_until": when_or_none(r.premium_until),
        "relationship_types": list(r.relationship_types or []),
        "connections": list(r.connections or []),
        "answers": [{"question_id": question, "value": value}
                    for question, value in answers[r.id]],
    } for r in found.items]}


def _attendance_json(request, site, records, rows, keys=None) -> list:
    registrations = records.registrations_of_accounts(site, [a.account_id for a in rows])
    projects = records.sessions_of([a.session_id for a in rows])
    reference = _reference(request, site)
    keys = keys or {}
    return [{
        "id": a.id, "account": reference(a.account_id),
        "registration_id": registrations.get(a.account_id), "session_id": a.session_id,
        "project_id": projects[a.session_id], "attended_at": when(a.attended_at),
        "recorded_at": when(a.recorded_at), "source": a.source, "designated": a.designated,
        "voided": a.voided_at is not None, "external_id": keys.get(a.id),
    } for a in rows]


@view_config(route_name="api_site_attendance", request_method="GET", renderer="json",
             openapi=True, permission=P.API_SITE_ATTENDANCE_READ)
def site_attendance(request):
    site, query = _site(request), query_of(request)
    records = request.service(SiteRecords)
    found = records.attendance(
        site, cursor=query.get("cursor"), limit=query.get("limit", DEFAULT_LIMIT),
        session_id=query.get("session_id"), attended_from=query.get("from"),
        attended_to=query.get("to"))
    audit_api_read(request, [a.account_id for a in found.items], "attendance")
    keys = records.external_ids_of(site, [a.id for a in found.items])
    return {"next_cursor": found.next_cursor,
            "items": _attendance_json(request, site, records, found.items, keys)}


@view_config(route_name="api_site_attendance", request_method="POST", renderer="json",
             openapi=True, permission=P.API_SITE_ATTENDANCE_WRITE)
def record_site_attendance(request):
    site = _site(request)
    body = request.openapi_validated.body
    records = request.service(SiteRecords)
    try:
        result = records.record_attendance(
            request.actor, site, request.api_grant.client.client_id, body["external_id"],
            registration_id=body["registration_id"], session_id=body["session_id"])
    except InvalidInput as refusal:
        return problem(request, 422, _("This attendance cannot be recorded."), refusal.message,
                       [{"field": refusal.field,
                         "message": request.localizer.translate(refusal.message)}]
                       if refusal.field else ())
    except (NotAllowed, Conflict) as refusal:
        return problem(request, 409, _("This attendance cannot be recorded."), refusal.message)
    request.response.status = 201 if result.created else 200
    keys = records.external_ids_of(site, [result.attendance.id])
    return _attendance_json(request, site, records, [result.attendance], keys)[0]


@view_config(route_name="api_site_applications", request_method="GET", renderer="json",
             openapi=True, permission=P.API_SITE_APPLICATIONS_READ)
def site_applications(request):
    site, query = _site(request), query_of(request)
    records = request.service(SiteRecords)
    found = records.applications(
        site, cursor=query.get("cursor"), limit=query.get("limit", DEFAULT_LIMIT),
        state=query.get("state"), session_id=query.get("session_id"))
    audit_api_read(request, [a.account_id for a in found.items], "applications")
    registrations = records.registrations_of_accounts(site, [a.account_id for a in found.items])
    reference = _reference(request, site)
    return {"next_cursor": found.next_cursor, "items": [{
        "id": a.id, "account": reference(a.account_id),
        "registration_id": registrations.get(a.account_id), "session_id": a.session_id,
        "state": a.state, "applied_at": when(a.applied_at), "updated_at": when(a.updated_at),
    } for a in found.items]}
