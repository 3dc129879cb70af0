"""The person's own API (/api/v1/me…) for their app: who they are, their registrations and
checking in with a venue poster's code. A token acting for the person is required (see
``services/oauth``); the rules are the same services the web pages use."""
from pyramid.httpexceptions import HTTPForbidden
from pyramid.view import view_config

from ..i18n import _
from ..permissions import Permissions as P
from ..services.attendance import AttendanceService
from ..services.checkin_tokens import TokenRefused
from ..services.errors import ServiceError
from ..services.registration import RegistrationService
from .api import problem
from .api_public import _site_json, _when

CHECKIN_PATH = "/checkin/"


def _person(request):
    """The account the token acts for; only a registrant's app may act for a person."""
    account = request.api_grant.account
    if account is None or account.kind != "registrant":
        raise HTTPForbidden(_("This token does not act for a registrant."))
    return account


@view_config(route_name="api_me", request_method="GET", renderer="json", openapi=True,
             permission=P.API_PROFILE)
def me(request):
    account = _person(request)
    verified = request.service(RegistrationService).verification_of(account) is not None
    return {"id": account.id, "display_name": account.display_name, "email": account.email,
            "locale": account.locale, "identity_verified": verified}


@view_config(route_name="api_me_registrations", request_method="GET", renderer="json",
             openapi=True, permission=P.API_REGISTRATIONS)
def my_registrations(request):
    registrations = request.service(RegistrationService).registrations_of(_person(request))
    return {"items": [_registration_json(request, each) for each in registrations]}


def _registration_json(request, registration) -> dict:
    derived = registration.derived_from
    return {"id": registration.id, "site": _site_json(request, registration.site),
            "tier": registration.tier, "state": registration.state,
            "registered_at": _when(registration.registered_at),
            "premium_until": (_when(registration.premium_until)
                              if registration.premium_until else None),
            "derived_from": derived.site.code if derived is not None else None}


def poster_code(sent: str) -> str:
    """The code of a poster's QR address (``…/checkin/<code>``) or the bare code."""
    sent = sent.strip()
    if CHECKIN_PATH in sent:
        sent = sent.rsplit(CHECKIN_PATH, 1)[1]
    return sent.split("?", 1)[0].split("#", 1)[0].strip("/")


@view_config(route_name="api_me_checkins", request_method="POST", renderer="json",
             openapi=True, permission=P.API_ACTIVITIES)
def check_in(request):
    """The web check-in's rules and exactly-once guarantee, from an app."""
    account = _person(request)
    service = request.service(AttendanceService)
    code = poster_code(request.openapi_validated.body["code"])
    try:
        scan = service.scan(code, account)
    except TokenRefused as refusal:
        return problem(request, 422, _("This check-in code cannot be used."), refusal.message)
    session = scan.session
    if not service.is_public(session):
        return problem(request, 422, _("This check-in code cannot be used."),
                       _("This activity is not open to the public."))
    try:
        result = service.check_in_scan(account, scan)
    except ServiceError as refusal:
        return problem(request, 409, _("Check-in refused."), refusal.message)
    request.response.status = 201 if result.created else 200
    return {"attendance_id": result.attendance.id, "status": result.status,
            "session_id": session.id, "project_title": session.project.title,
            "site": _site_json(request, session.project.site),
            "starts_at": _when(session.starts_at), "registered": result.registered}
