"""Error pages in the site's look. Nothing a user can do should end in a traceback.

An attempt that pyramid_retry will run again (a lost serialization race or deadlock) is
not an error of the request: it is logged at INFO and answered with a bare response that
pyramid_retry throws away (no template: the failed transaction can read nothing more).

A signed-in staff member (or the operator) refused something under a site — 403, or
404 where hidden things look missing — is written to the audit log with the actor
(``access.refused``), whether the site is one of theirs or not: probing another
site's objects leaves a trace. It costs nothing for anybody else (the identity is
already loaded) and one INSERT for staff, made after the request's own transaction,
which pyramid_tm rolls back for an error page."""
import logging

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest, HTTPFound
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from pyramid_retry import is_error_retryable

from ..forms import flash
from ..i18n import _
from ..models import DATABASE_UNAVAILABLE
from ..permissions import Permissions as P
from ..request_guard import BodyTooLarge
from ..resources.site import find_site_resource
from ..services.audit import AuditLog
from ..tweens import RETRY_AFTER_SECONDS
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


def _will_be_retried(exc, request) -> bool:
    if not is_error_retryable(request, exc):
        return False
    log.info("retrying %s %s after %s (attempt %s)", request.method, request.path,
             type(exc).__name__, request.environ.get("retry.attempt", 0) + 1)
    return True


def database_unavailable(exc, request):
    """503 with Retry-After, in the site's layout but without another database read: the
    page is shown as to a visitor (no identity is looked up) and names no site."""
    if _will_be_retried(exc, request):
        return Response(status=503)
    log.warning("database unavailable on %s %s: %s", request.method, request.path,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    request.environ["furusato.identity"] = None
    request.response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    request.response.cache_control.no_store = True
    return _page(
        request, 503, _("Temporarily unavailable"),
        _("The service is busy or under maintenance. Please try again in a minute."),
    )


for _unavailable in DATABASE_UNAVAILABLE:
    exception_view_config(_unavailable, renderer="errors/error.jinja2")(database_unavailable)
del _unavailable
@exception_view_config(BodyTooLarge, renderer="errors/error.jinja2")
def body_too_large(exc, request):
    return _page(request, 413, _("Too much sent at once"), exc.message)


@exception_view_config(Exception, renderer="errors/error.jinja2")
def server_error(exc, request):
    if _will_be_retried(exc, request):
        return Response(status=500)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _page(
        request, 500, _("Something went wrong"),
        _("The error has been recorded. Please try again later."),
    )

