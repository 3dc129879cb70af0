"""The rest of the person's own API (/api/v1/me…): registering and leaving, the card's
signed statements, activity history, premium progress, applications and the inbox. Each
calls the service the web page uses, so an app and the web follow the same rules; another
person's item is never found (404)."""
from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config

from ..i18n import _
from ..permissions import Permissions as P
from ..services.card_statements import CardStatementService, long_stay_shown
from ..services.directory import SiteDirectory
from ..services.eligibility import EligibilityService
from ..services.errors import Conflict, InvalidInput, NotAllowed, ServiceError
from ..services.notifications import NotificationService
from ..services.personal_records import PersonalRecords
from ..services.policies import PolicyService
from ..services.session_applications import ApplicationService
from ..services.registration import AnswersRefused, RegistrationService
from .api import problem
from .api_shapes import acting_person, registration_json, site_json, when

DEFAULT_LIMIT = 20


def _query(request) -> dict:
    return request.openapi_validated.parameters.query


def _path(request, name) -> int:
    return request.openapi_validated.parameters.path[name]


def _no_content() -> Response:
    return Response(status=204)


def _not_found():
    return HTTPNotFound(_("You have no such item."))


# -- registering and leaving ------------------------------------------------------------

@view_config(route_name="api_me_registrations", request_method="POST", renderer="json",
             openapi=True, permission=P.API_REGISTRATIONS)
def register(request):
    account = acting_person(request)
    body = request.openapi_validated.body
    site = request.service(SiteDirectory).active_site(body["site"])
    if site is None:
        return problem(request, 422, _("This registration cannot be made."),
                       _("No participating local government has this code."),
                       [{"field": "site", "message": request.localizer.translate(
                           _("No participating local government has this code."))}])
    service = request.service(RegistrationService)
    prefecture = service.prefecture_joining_with(account, site)
    try:
        registration = service.register(
            account, site, body["relationship_types"], body["connections"],
            body.get("answers", {}), postal_code=body.get("postal_code"))
        request.service(PolicyService).accept_notices(
            account, [site, *([prefecture] if prefecture else [])])
    except AnswersRefused as refused:
        translate = request.localizer.translate
        return problem(request, 422, _("This registration cannot be made."), refused.message,
                       [{"field": f"answers.{name}", "message": translate(message)}
                        for name, message in refused.errors.items()])
    except InvalidInput as refused:
        return problem(request, 422, _("This registration cannot be made."), refused.message,
                       [{"field": refused.field or "body",
                         "message": request.localizer.translate(refused.message)}])
    except ServiceError as refused:
        return problem(request, 409, _("This registration cannot be made."), refused.message)
    request.response.status = 201
    return registration_json(request, registration)


@view_config(route_name="api_me_registration", request_method="DELETE", openapi=True,
             permission=P.API_REGISTRATIONS)
def leave(request):
    service = request.service(RegistrationService)
    registration = service.registration_of(acting_person(request),
                                           _path(request, "registration_id"))
    if registration is None:
        raise _not_found()
    try:
        service.leave(registration)
    except ServiceError as refused:
        return problem(request, 409, _("You cannot leave this registration."), refused.message)
    return _no_content()


# -- the card ---------------------------------------------------------------------------

@view_config(route_name="api_me_card", request_method="GET", renderer="json", openapi=True,
             permission=P.API_CARD)
def card(request):
    card = request.service(RegistrationService).card(acting_person(request))
    statements = request.service(CardStatementService).issue(card.registrations)
    return {"identity_verified": card.verification is not None, "items": [{
        "registration_id": r.id, "site": site_json(request, r.site),
        "tier": statements[r.id].claims.tier,
        "premium_until": (statements[r.id].claims.premium_until.isoformat()
                          if statements[r.id].claims.premium_until else None),
        "long_stay": long_stay_shown(r), "statement": statements[r.id].text,
        "verify_url": statements[r.id].url, "expires_at": when(statements[r.id].expires_at),
    } for r in card.registrations]}


# -- activities and premium -------------------------------------------------------------

def _records(request) -> PersonalRecords:
    return request.service(PersonalRecords)


def _cursor(request) -> dict:
    query = _query(request)
    return {"cursor": query.get("cursor"), "limit": query.get("limit", DEFAULT_LIMIT)}


@view_config(route_name="api_me_activities", request_method="GET", renderer="json",
             openapi=True, permission=P.API_ACTIVITIES)
def activities(request):
    listed = _records(request).activities(acting_person(request), **_cursor(request))
    return {"next_cursor": listed.found.next_cursor, "items": [{
        "id": a.id, "site": site_json(request, listed.sites[a.site_id]),
        "session_id": a.session_id, "project_id": listed.projects[a.session_id].id,
        "project_title": listed.projects[a.session_id].title,
        "attended_at": when(a.attended_at), "source": a.source, "designated": a.designated,
        "voided": a.voided_at is not None,
    } for a in listed.found.items]}


@view_config(route_name="api_me_premium", request_method="GET", renderer="json",
             openapi=True, permission=P.API_ACTIVITIES)
def premium(request):
    account = acting_person(request)
    registrations = request.service(RegistrationService).card(account).registrations
    judged = request.service(EligibilityService).evaluate_many(
        account, [r.site for r in registrations])
    translate = request.localizer.translate
    return {"items": [_progress(r, judged[r.site_id], request, translate)
                      for r in registrations]}


def _progress(registration, eligibility, request, translate) -> dict:
    return {
        "registration_id": registration.id, "site": site_json(request, registration.site),
        "tier": registration.tier,
        "premium_until": (when(registration.premium_until)
                          if registration.premium_until else None),
        "eligible": eligibility.eligible,
        "required_activities": eligibility.required_activities,
        "activity_count": eligibility.activity_count,
        "activities": [{"id": a.id, "attended_at": when(a.attended_at),
                        "project_id": a.project_id, "project_title": a.project_title}
                       for a in eligibility.activities],
        "stay_day_count": eligibility.stay_day_count,
        "requirements": [{"key": r.key, "held": r.held, "title": translate(r.title),
                          "message": translate(r.message)} for r in eligibility.requirements],
    }


# -- applications -----------------------------------------------------------------------

def _application_json(request, application, session, project, site) -> dict:
    return {"id": application.id, "session_id": session.id, "project_title": project.title,
            "site": site_json(request, site), "starts_at": when(session.starts_at),
            "state": application.state, "applied_at": when(application.applied_at)}


def _applications_json(request, applications, sessions=None) -> list:
    sessions = sessions or _records(request).sessions_of(applications)
    return [_application_json(request, a, *sessions[a.session_id]) for a in applications]


@view_config(route_name="api_me_applications", request_method="GET", renderer="json",
             openapi=True, permission=P.API_ACTIVITIES)
def applications(request):
    listed = _records(request).applications(acting_person(request), **_cursor(request))
    return {"next_cursor": listed.found.next_cursor,
            "items": _applications_json(request, listed.found.items, listed.sessions)}


@view_config(route_name="api_me_applications", request_method="POST", renderer="json",
             openapi=True, permission=P.API_ACTIVITIES)
def apply(request):
    account = acting_person(request)
    body = request.openapi_validated.body
    session = _records(request).session(body["session_id"])
    if session is None:
        raise HTTPNotFound(_("There is no such session."))
    try:
        application = request.service(ApplicationService).apply(
            account, session, body.get("answers", {}))
    except InvalidInput as refused:
        return problem(request, 422, _("This application cannot be made."), refused.message)
    except (NotAllowed, Conflict) as refused:
        return problem(request, 409, _("This application cannot be made."), refused.message)
    request.response.status = 201
    return _applications_json(request, [application])[0]


@view_config(route_name="api_me_application", request_method="DELETE", openapi=True,
             permission=P.API_ACTIVITIES)
def cancel_application(request):
    application = _records(request).application_of(acting_person(request),
                                                   _path(request, "application_id"))
    if application is None:
        raise _not_found()
    try:
        request.service(ApplicationService).cancel(application)
    except ServiceError as refused:
        return problem(request, 409, _("This application cannot be cancelled."),
                       refused.message)
    return _no_content()


# -- the inbox --------------------------------------------------------------------------

@view_config(route_name="api_me_inbox", request_method="GET", renderer="json", openapi=True,
             permission=P.API_INBOX)
def inbox(request):
    account = acting_person(request)
    listed = _records(request).inbox(account, **_cursor(request))
    return {"next_cursor": listed.found.next_cursor,
            "unread": request.service(NotificationService).unread_count(account.id),
            "items": [{"id": m.id, "site": site_json(request, listed.sites[m.site_id]),
                       "kind": m.kind, "subject": m.subject, "body": m.body, "link": m.link,
                       "created_at": when(m.created_at), "read": m.read_at is not None}
                      for m in listed.found.items]}


@view_config(route_name="api_me_inbox_read", request_method="POST", openapi=True,
             permission=P.API_INBOX)
def mark_read(request):
    account = acting_person(request)
    message_id = _path(request, "message_id")
    if not _records(request).owns_message(account, message_id):
        raise _not_found()
    request.service(NotificationService).mark_read(account, message_id)
    return _no_content()
