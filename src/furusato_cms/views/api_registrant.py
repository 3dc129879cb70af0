"""The person's own API (/api/v1/me…) for their app: who they are, their registrations and
checking in with a venue poster's code. A token acting for the person is required (see
``services/oauth``); the rules are the same services the web pages use."""
from pyramid.view import view_config

from ..i18n import _
from ..permissions import Permissions as P
from ..services.attendance import AttendanceService
from ..services.checkin_tokens import TokenRefused
from ..services.errors import ServiceError
from ..services.registration import RegistrationService
from .api import problem
from .api_shapes import acting_person, registration_json, site_json, when

CHECKIN_PATH = "/checkin/"


@view_config(route_name="api_me", request_method="GET", renderer="json", openapi=True,
             permission=P.API_PROFILE)
def me(request):
    account = acting_person(request)
    verified = request.service(RegistrationService).verification_of(account) is not None
    return {"id": account.id, "display_name": account.display_name, "email": account.email,
            "locale": account.locale, "identity_verified": verified}


@view_config(route_name="api_me_registrations", request_method="GET", renderer="json",
             openapi=True, permission=P.API_REGISTRATIONS)
def my_registrations(request):
    registrations = request.service(RegistrationService).registrations_of(acting_person(request))
    return {"items": [registration_json(request, each) for each in registrations]}


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
    account = acting_person(request)
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
            "site": site_json(request, session.project.site),
            "starts_at": when(session.starts_at), "registered": result.registered}
