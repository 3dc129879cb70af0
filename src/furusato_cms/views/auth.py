"""Sign-in (/signin), the TOTP step (/signin/totp) and sign-out (/signout, POST).

The client address is the socket's (``REMOTE_ADDR``); behind a proxy the WSGI
server rewrites it from trusted forwarding headers only (production.ini), so a
forged ``X-Forwarded-For`` can neither dodge the throttle nor fake the office network.
"""
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import forget, remember
from pyramid.view import view_config

from ..forms import Outcome, button, flash, make_form, show_error, validate
from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..schemas.auth import SecondFactorSchema, SigninSchema
from ..schemas.fields import local_path
from ..security import AUTH_COOKIE
from ..services.authentication import SigninLocked, SigninService, second_factor_required
from ..services.errors import ServiceError
from ..services.staff import landing_path
from .language import safe_return_path

SIGNIN = r"^/signin/?$"
SIGNIN_TOTP = r"^/signin/totp/?$"
LOCKED_STATUS = 429
ENROL_PATH = "/account/totp"
ENROL_FIRST = _("Staff accounts must use two-step sign-in. Set it up now to reach the staff "
                "screens.")


def _signin_form(request):
    return make_form(request, SigninSchema(), buttons=(button(request, "signin", _("Sign in")),))


def _totp_form(request):
    return make_form(request, SecondFactorSchema(),
                     buttons=(button(request, "verify", _("Confirm")),))


def _refused(request, form, error: ServiceError):
    """Re-render ``form`` with a rule's refusal; a lock-out answers 429."""
    if isinstance(error, SigninLocked):
        request.response.status_int = LOCKED_STATUS
    return show_error(form, error.message, error.field)


def attempt(request, form, action) -> Outcome:
    """``forms.submit`` for the sign-in family of screens (sign-in, passwords, mail links):
    bad input and refusals come back on the form with 200 (only a lock-out answers 429),
    so the status tells a prober nothing about accounts."""
    try:
        return Outcome(result=action(validate(request, form)))
    except deform.ValidationFailure as failure:
        return Outcome(form_html=failure.render())
    except ServiceError as error:
        return Outcome(form_html=_refused(request, form, error))


def home_path(request, account) -> str:
    """Where a person lands after signing in when no page asked for it (by role)."""
    return landing_path(request.dbsession, account)


def sign_in_browser(request, account, came_from=""):
    """Give this browser a brand-new session for ``account`` and send it on.

    The Pyramid session is emptied and the browser's previous sign-in session
    revoked, so nothing from before the sign-in survives it (session fixation).
    Accounts with TOTP go to the code page first; staff and the operator without it
    go to set it up, before any admin screen.
    """
    previous = request.cookies.get(AUTH_COOKIE)
    request.session.invalidate()
    token, auth_session = request.service(SigninService).open_session(
        account, request.remote_addr, previous_token=previous
    )
    if auth_session.second_factor_at is None:
        target = request.application_url + "/signin/totp"
        if came_from:
            request.session["came_from"] = came_from
    elif second_factor_required(account):
        flash(request, ENROL_FIRST)
        target = request.application_url + ENROL_PATH
    else:
        target = safe_return_path(request, came_from, home_path(request, account))
    return HTTPSeeOther(target, headers=remember(request, token))


@view_config(context=Root, name="signin", path_info=SIGNIN, request_method="GET",
             renderer="auth/signin.jinja2", permission=P.VIEW)
def signin_page(request):
    came_from = local_path(request.GET.get("came_from"))
    if request.identity is not None:
        return HTTPSeeOther(
            safe_return_path(request, came_from, home_path(request, request.identity.account))
        )
    return {"form": _signin_form(request).render({"came_from": came_from})}


@view_config(context=Root, name="signin", path_info=SIGNIN, request_method="POST",
             renderer="auth/signin.jinja2", permission=P.VIEW)
def signin(request):
    outcome = attempt(request, _signin_form(request), lambda data: (
        request.service(SigninService).authenticate(
            data["email"], data["password"], request.remote_addr),
        data["came_from"]))
    if outcome.failed:
        return {"form": outcome.form_html}
    return sign_in_browser(request, *outcome.result)


def _pending_or_restart(request):
    pending = request.service(SigninService).pending_session(request.cookies.get(AUTH_COOKIE))
    if pending is None:
        return None, HTTPSeeOther(request.application_url + "/signin")
    return pending, None


@view_config(context=Root, name="signin", path_info=SIGNIN_TOTP, request_method="GET",
             renderer="auth/totp.jinja2", permission=P.VIEW)
def totp_page(request):
    _pending, restart = _pending_or_restart(request)
    if restart is not None:
        return restart
    return {"form": _totp_form(request).render()}


@view_config(context=Root, name="signin", path_info=SIGNIN_TOTP, request_method="POST",
             renderer="auth/totp.jinja2", permission=P.VIEW)
def totp_verify(request):
    pending, restart = _pending_or_restart(request)
    if restart is not None:
        return restart
    outcome = attempt(request, _totp_form(request), lambda data: request.service(
        SigninService).pass_second_factor(pending, data["code"], request.remote_addr))
    if outcome.failed:
        return {"form": outcome.form_html}
    token, _session = outcome.result
    came_from = request.session.get("came_from", "")
    request.session.invalidate()
    return HTTPSeeOther(
        safe_return_path(request, came_from, home_path(request, pending.account)),
        headers=remember(request, token)
    )


@view_config(context=Root, name="signout", request_method="POST", permission=P.VIEW)
def signout(request):
    request.service(SigninService).sign_out(request.cookies.get(AUTH_COOKIE), request.remote_addr)
    request.session.invalidate()
    flash(request, _("You have signed out."))
    return HTTPSeeOther(request.application_url + "/", headers=forget(request))
