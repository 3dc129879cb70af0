"""The rest of the person's own API (/api/v1/me…): registering and leaving, the card's
signed statements, activity history, premium progress, applications and the inbox. Each
calls the service the web page uses, so an app and the web follow the same rules; another
person's item is never found (404)."""
from datetime import datetime

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from ..i18n import _
from ..models import ActivitySession, Attendance, InboxMessage, Project, SessionApplication, Site
from ..permissions import Permissions as P
from ..services.card_statements import CardStatementService, long_stay_shown
from ..services.directory import SiteDirectory
from ..services.eligibility import EligibilityService
from ..services.errors import Conflict, InvalidInput, NotAllowed, ServiceError
from ..services.notifications import NotificationService
from ..services.paging import SortKey, fetch_slice
from ..services.policies import PolicyService
from ..services.projects import ApplicationService
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


def _newest_first(model, moment):
    return [SortKey(moment, True, _parse_time, lambda item: getattr(item, moment.key)),
            SortKey(model.id, True, int, lambda item: item.id)]


def _parse_time(text):
    return datetime.fromisoformat(text)


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

def _sites_by_id(request, site_ids) -> dict:
    if not site_ids:
        return {}
    return {site.id: site for site in request.dbsession.scalars(
        select(Site).where(Site.id.in_(sorted(set(site_ids)))))}


@view_config(route_name="api_me_activities", request_method="GET", renderer="json",
             openapi=True, permission=P.API_ACTIVITIES)
def activities(request):
    account, query = acting_person(request), _query(request)
    found = fetch_slice(request.dbsession,
                        select(Attendance).where(Attendance.account_id == account.id),
                        _newest_first(Attendance, Attendance.attended_at),
                        cursor=query.get("cursor"), limit=query.get("limit", DEFAULT_LIMIT))
    sessions = dict(request.dbsession.execute(
        select(ActivitySession.id, Project).join(Project, Project.id == ActivitySession.project_id)
        .where(ActivitySession.id.in_({a.session_id for a in found.items} or {0}))).all())
    sites = _sites_by_id(request, [a.site_id for a in found.items])
    return {"next_cursor": found.next_cursor, "items": [{
        "id": a.id, "site": site_json(request, sites[a.site_id]), "session_id": a.session_id,
        "project_id": sessions[a.session_id].id, "project_title": sessions[a.session_id].title,
        "attended_at": when(a.attended_at), "source": a.source, "designated": a.designated,
        "voided": a.voided_at is not None,
    } for a in found.items]}


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


def _applications_json(request, applications) -> list:
    rows = {session.id: (session, project, site) for session, project, site in
            request.dbsession.execute(
                select(ActivitySession, Project, Site)
                .join(Project, Project.id == ActivitySession.project_id)
                .join(Site, Site.id == ActivitySession.site_id)
                .where(ActivitySession.id.in_({a.session_id for a in applications} or {0})))}
    return [_application_json(request, a, *rows[a.session_id]) for a in applications]


@view_config(route_name="api_me_applications", request_method="GET", renderer="json",
             openapi=True, permission=P.API_ACTIVITIES)
def applications(request):
    account, query = acting_person(request), _query(request)
    found = fetch_slice(
        request.dbsession,
        select(SessionApplication).where(SessionApplication.account_id == account.id),
        _newest_first(SessionApplication, SessionApplication.applied_at),
        cursor=query.get("cursor"), limit=query.get("limit", DEFAULT_LIMIT))
    return {"next_cursor": found.next_cursor, "items": _applications_json(request, found.items)}


@view_config(route_name="api_me_applications", request_method="POST", renderer="json",
             openapi=True, permission=P.API_ACTIVITIES)
def apply(request):
    account = acting_person(request)
    body = request.openapi_validated.body
    session = request.dbsession.get(ActivitySession, body["session_id"])
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
    application = request.dbsession.scalar(select(SessionApplication).where(
        SessionApplication.id == _path(request, "application_id"),
        SessionApplication.account_id == acting_person(request).id))
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
    account, query = acting_person(request), _query(request)
    found = fetch_slice(request.dbsession,
                        select(InboxMessage).where(InboxMessage.account_id == account.id),
                        _newest_first(InboxMessage, InboxMessage.created_at),
                        cursor=query.get("cursor"), limit=query.get("limit", DEFAULT_LIMIT))
    sites = _sites_by_id(request, [m.site_id for m in found.items])
    return {"next_cursor": found.next_cursor,
            "unread": request.service(NotificationService).unread_count(account.id),
            "items": [{"id": m.id, "site": site_json(request, sites[m.site_id]),
                       "kind": m.kind, "subject": m.subject, "body": m.body, "link": m.link,
                       "created_at": when(m.created_at), "read": m.read_at is not None}
                      for m in found.items]}


@view_config(route_name="api_me_inbox_read", request_method="POST", openapi=True,
             permission=P.API_INBOX)
def mark_read(request):
    account = acting_person(request)
    message_id = _path(request, "message_id")
    mine = request.dbsession.scalar(select(InboxMessage.id).where(
        InboxMessage.id == message_id, InboxMessage.account_id == account.id))
    if mine is None:
        raise _not_found()
    request.service(NotificationService).mark_read(account, message_id)
    return _no_content()
