"""Check-in (/checkin/{code}, 出席受付): the page a poster's QR code opens.

GET shows the project, the session and one big button (anyone may look; a person not
signed in is sent to sign in and brought back to the same check-in). POST records the
attendance when the person holds ``site:session:check_in`` on the session's project
(registrants, while the project is public) and the service accepts the code, the
session and the moment. Every refusal is a friendly page with a 4xx status.
"""
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root, project_resource
from ..security import read_ahead
from ..services.attendance import AttendanceService
from ..services.checkin_tokens import TokenRefused
from ..services.errors import ServiceError
from ..services.session_texts import when_text

PAGE = "checkin/checkin.jinja2"
DONE = "checkin/done.jinja2"
REFUSED = "checkin/refused.jinja2"
HIDDEN_STATUS = 404
TOKEN_STATUS = 400
REFUSED_STATUS = 403


def _token(request) -> str:
    if len(request.subpath) != 1:
        raise HTTPNotFound()
    return request.subpath[0]


def _signin_url(request, token) -> str:
    return request.application_url + "/signin?" + urlencode({"came_from": f"/checkin/{token}"})


def _refusal_page(request, message, status, session):
    request.response.status_int = status
    return render_to_response(REFUSED, _describe(request, session, message=message),
                              request=request, response=request.response)


def _describe(request, session, **extra):
    """What every check-in page shows about the session (nothing when hidden)."""
    values = {"session": session, "project": None, "site": None, "times": ""}
    if session is not None:
        values.update(project=session.project, site=session.project.site,
                      times=when_text(session, request.locale_name))
    values.update(extra)
    return values


def _scanned_ahead(request):
    """The code's scan as read with the signed-in identity (resources/checkin.py), or
    None: the service reads it itself."""
    ahead = read_ahead(request)
    return None if ahead is None else ahead[0]


def _account(request):
    identity = request.identity
    return None if identity is None else identity.account


@view_config(context=Root, name="checkin", request_method="GET", renderer=PAGE,
             permission=P.VIEW)
def checkin_page(request):
    token = _token(request)
    try:
        view = request.service(AttendanceService).checkin_view(
            _account(request), token, rows=_scanned_ahead(request))
    except TokenRefused as refusal:
        return _refusal_page(request, refusal.message, TOKEN_STATUS, None)
    except ServiceError as refusal:
        return _refusal_page(request, refusal.message, HIDDEN_STATUS, None)
    return _describe(request, view.session, view=view, token=token,
                     signin_url=_signin_url(request, token))


@view_config(context=Root, name="checkin", request_method="POST", renderer=DONE,
             permission=P.VIEW)
def check_in(request):
    token = _token(request)
    account = _account(request)
    if account is None:
        return HTTPSeeOther(_signin_url(request, token))
    service = request.service(AttendanceService)
    try:
        scan = service.scan(token, account, rows=_scanned_ahead(request))
    except TokenRefused as refusal:
        return _refusal_page(request, refusal.message, TOKEN_STATUS, None)
    session = scan.session
    if not service.is_public(session):
        return _refusal_page(request, _("This activity is not open to the public."),
                             HIDDEN_STATUS, None)
    if not request.has_permission(P.CHECK_IN, project_resource(request, session.project)):
        return _refusal_page(
            request, _("Only registrant accounts can check in. Staff record attendance on "
                       "the session's attendance page."), REFUSED_STATUS, session,
        )
    try:
        result = service.check_in_scan(account, scan)
    except ServiceError as refusal:
        return _refusal_page(request, refusal.message, REFUSED_STATUS, session)
    return _describe(request, session, result=result)
