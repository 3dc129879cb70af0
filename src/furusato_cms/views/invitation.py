"""Accepting an invitation to a site's staff (/invitation/{token}, 職員招待の受諾).

A person new to the system chooses a name and password; a person whose email
address already has an account signs in with it instead. Either way they end up
signed in, with a fresh session, on the site's staff screens.
"""
from pyramid.view import view_config

from ..forms import button, make_form
from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..schemas.auth import ExistingAccountSchema, NewStaffSchema
from ..services.authentication import SigninService
from ..services.invitations import InvitationService
from ..services.passwords import MIN_LENGTH
from ..services.staff import ROLE_LABELS
from .auth import attempt, sign_in_browser


def _invitation(request):
    """The open invitation named by the one path segment after /invitation/, or None."""
    if len(request.subpath) != 1:
        return None
    return request.service(InvitationService).find_valid(request.subpath[0])


def _invalid(request):
    request.override_renderer = "errors/error.jinja2"
    request.response.status_int = 404
    translate = request.localizer.translate
    return {
        "title": translate(_("This invitation cannot be used")),
        "message": translate(_("The link is wrong, has expired or has already been used. "
                               "Ask the person who invited you to send a new invitation.")),
    }


def _form(request, existing):
    if existing is None:
        schema, title = NewStaffSchema(), _("Create my account and join")
    else:
        schema, title = ExistingAccountSchema(), _("Sign in and join")
    return make_form(request, schema, buttons=(button(request, "accept", title),))


def _page(invitation, existing, form_html):
    return {
        "invitation": invitation,
        "site": invitation.site,
        "role_label": ROLE_LABELS.get(invitation.role, invitation.role),
        "existing": existing is not None,
        "form": form_html,
        "min_length": MIN_LENGTH,
    }


@view_config(context=Root, name="invitation", request_method="GET",
             renderer="auth/invitation.jinja2", permission=P.VIEW)
def invitation_page(request):
    request.response.cache_control.no_store = True
    invitation = _invitation(request)
    if invitation is None:
        return _invalid(request)
    existing = request.service(InvitationService).existing_account(invitation)
    return _page(invitation, existing, _form(request, existing).render())


@view_config(context=Root, name="invitation", request_method="POST",
             renderer="auth/invitation.jinja2", permission=P.VIEW)
def accept_invitation(request):
    request.response.cache_control.no_store = True
    invitation = _invitation(request)
    if invitation is None:
        return _invalid(request)
    service = request.service(InvitationService)
    existing = service.existing_account(invitation)
    def accept(data):
        if existing is None:
            return service.accept(
                invitation, client_addr=request.remote_addr,
                display_name=data["display_name"], password=data["password"],
            )
        account = request.service(SigninService).authenticate(
            invitation.email, data["password"], request.remote_addr
        )
        return service.accept(invitation, client_addr=request.remote_addr, account=account)

    outcome = attempt(request, _form(request, existing), accept)
    if outcome.failed:
        return _page(invitation, existing, outcome.form_html)
    account, _membership = outcome.result
    return sign_in_browser(request, account, f"/s/{invitation.site.code}/manage")
