"""Error pages in the site's look. Nothing a user can do should end in a traceback.

A signed-in staff member (or the operator) refused something under a site — 403, or
404 where hidden things look missing — is written to the audit log with the actor
(``access.refused``), whether the site is one of theirs or not: probing another
site's objects leaves a trace. It costs nothing for anybody else (the identity is
already loaded) and one INSERT for staff, made after the request's own transaction,
which pyramid_tm rolls back for an error page."""
import logging

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest, HTTPFound
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from ..forms import flash
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.site import find_site_resource
from ..services.audit import AuditLog
from .auth import ENROL_FIRST, ENROL_PATH

log = logging.getLogger(__name__)


def _page(request, status, title, message):
    request.response.status_int = status
    translate = request.localizer.translate
    return {"title": translate(title), "message": translate(message)}


def _audit_refusal(request, status, permission=None):
    identity = request.identity
    if identity is None or not identity.is_staff:
        return
    found = find_site_resource(getattr(request, "context", None))
    if found is None:
        return
    site_id, actor = found.site.id, request.actor
    detail = {"status": status, "path": request.path, "method": request.method,
              "own_site": site_id in {m.site_id for m in identity.memberships}}
    if permission:
        detail["permission"] = str(permission)

    def write(session):
        AuditLog(session, request.clock).record(actor, "access.refused", site_id=site_id,
                                                **detail)

    request.add_finished_callback(lambda finished: finished.write_apart(write))


@notfound_view_config(renderer="errors/error.jinja2")
def not_found(request):
    _audit_refusal(request, 404)
    return _page(
        request, 404, _("Page not found"),
        _("The page you are looking for does not exist or is not public."),
    )


@forbidden_view_config(renderer="errors/error.jinja2")
def forbidden(exc, request):
    """Hidden things look missing; staff screens ask anonymous people to sign in."""
    permission = getattr(getattr(exc, "result", None), "permission", None)
    if permission == P.VIEW:
        return not_found(request)
    _audit_refusal(request, 403, permission)
    identity = request.identity
    if identity is None and request.method == "GET":
        return HTTPFound(request.application_url + "/signin?came_from=" + request.path_qs)
    if identity is not None and identity.must_enrol and request.method == "GET":
        flash(request, ENROL_FIRST)
        return HTTPFound(request.application_url + ENROL_PATH)
    return _page(
        request, 403, _("Not allowed"),
        _("Your account does not have permission for this page. If you work for this "
          "site, make sure you are on the office network and have completed two-step sign-in."),
    )


@exception_view_config(BadCSRFToken, renderer="errors/error.jinja2")
def bad_csrf(request):
    return _page(
        request, 400, _("Please try again"),
        _("This form was open too long or came from another page. Go back, reload the "
          "page and send it again."),
    )


@exception_view_config(HTTPBadRequest, renderer="errors/error.jinja2")
def bad_request(exc, request):
    return _page(request, 400, _("Request not understood"), exc.detail or exc.explanation)


@exception_view_config(Exception, renderer="errors/error.jinja2")
def server_error(exc, request):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _page(
        request, 500, _("Something went wrong"),
        _("The error has been recorded. Please try again later."),
    )

