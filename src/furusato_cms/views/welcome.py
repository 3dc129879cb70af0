"""The link of an invitation from a member list (/welcome/{token}) and its one-click stop
(/welcome/stop/{token}).

The link works once and only while it is fresh. A person new to the platform signs up on
the page itself — the address is the one the mail reached, so it counts as confirmed — and
goes straight to the site's registration; a person whose address already has an account
signs in and comes back. Opening a link changes nothing: the button does (POST), so mail
scanners use up no invitation.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import CSRFSchema, button, flash, make_form
from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..schemas.policies import with_terms
from ..schemas.registrant import SignupSchema
from ..services.member_invitations import MemberInvitationService
from ..services.passwords import MIN_LENGTH
from ..services.policies import PolicyService
from .auth import attempt, sign_in_browser

WELCOME = r"^/welcome/(?!stop/)[^/]{1,100}/?$"
STOP = r"^/welcome/stop/[^/]{1,100}/?$"
RENDERER = "registrant/welcome.jinja2"


def _service(request) -> MemberInvitationService:
    request.response.cache_control.no_store = True
    return request.service(MemberInvitationService)


def _token(request) -> str:
    return request.subpath[-1] if request.subpath else ""


def _signup_form(request):
    schema = with_terms(SignupSchema())
    del schema["email"]
    return make_form(request, schema, buttons=(
        button(request, "signup", _("Create my account and register")),))


def _continue_form(request):
    return make_form(request, CSRFSchema(), buttons=(
        button(request, "continue", _("Continue to the registration")),))


def _invalid(request):
    request.override_renderer = "registrant/link_invalid.jinja2"
    request.response.status_int = 404
    return {"again_path": "/signup", "again_label": _("Sign up")}


def _situation(request, invitee):
    identity = request.identity
    return request.service(MemberInvitationService).situation(
        invitee, identity.account if identity is not None else None)


def _page(request, invitee, site, situation, form_html=""):
    return {"site": site, "email": invitee.email, "situation": situation, "form": form_html,
            "token": _token(request), "min_length": MIN_LENGTH}


def _form_for(request, situation):
    return _signup_form(request) if situation == "new" else _continue_form(request)


@view_config(context=Root, name="welcome", path_info=WELCOME, request_method="GET",
             renderer=RENDERER, permission=P.VIEW)
def welcome_page(request):
    found = _service(request).find_open(_token(request))
    if found is None:
        return _invalid(request)
    invitee, site = found
    situation = _situation(request, invitee)
    form_html = (_form_for(request, situation).render({"display_name": invitee.display_name})
                 if situation != "signin" else "")
    return _page(request, invitee, site, situation, form_html)


@view_config(context=Root, name="welcome", path_info=WELCOME, request_method="POST",
             renderer=RENDERER, permission=P.VIEW)
def accept(request):
    service = _service(request)
    found = service.find_open(_token(request))
    if found is None:
        return _invalid(request)
    invitee, site = found
    situation = _situation(request, invitee)
    if situation == "signin":
        return _page(request, invitee, site, situation)
    register_path = f"/s/{site.code}/register"

    def use(data):
        if situation == "mine":
            service.accept_signed_in(invitee, request.identity.account, request.remote_addr)
            return None
        account = service.accept_with_new_account(
            invitee, display_name=data["display_name"], password=data["password"],
            locale=data["locale"], client_addr=request.remote_addr)
        request.service(PolicyService).accept_terms(account)
        return account

    outcome = attempt(request, _form_for(request, situation), use)
    if outcome.failed:
        return _page(request, invitee, site, situation, outcome.form_html)
    if outcome.result is None:
        response = HTTPSeeOther(request.application_url + register_path)
    else:
        response = sign_in_browser(request, outcome.result, register_path)
    flash(request, _("Welcome! Answer a few questions to register with ${site}.",
                     mapping={"site": site.name}))
    return response


def _stop_page(request, found, done=False):
    if found is None:
        request.response.status_int = 404
    invitee, site = found if found else (None, None)
    return {"valid": found is not None, "site_name": site.name if site else "", "done": done,
            "token": _token(request)}


@view_config(context=Root, name="welcome", path_info=STOP, request_method="GET",
             renderer="registrant/welcome_stop.jinja2", permission=P.VIEW)
def stop_page(request):
    return _stop_page(request, _service(request).stop_target(_token(request)))


@view_config(context=Root, name="welcome", path_info=STOP, request_method="POST",
             renderer="registrant/welcome_stop.jinja2", permission=P.VIEW, require_csrf=False)
def stop(request):
    """RFC 8058 one-click (``List-Unsubscribe=One-Click``) and the page's button."""
    service = _service(request)
    found = service.stop_target(_token(request))
    if found is not None:
        service.stop(found[0])
    return _stop_page(request, found, done=found is not None)
