"""The signed-in person's own account (/account, アカウント設定): memberships, password,
two-step sign-in (TOTP) with its recovery codes, and signing out everywhere.

Recovery codes are shown in the answer to the POST that made them, never through a
redirect or the session, so they exist in one page only."""
import segno
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import forget
from pyramid.view import view_config

from ..forms import button, flash, make_form
from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..schemas.auth import PasswordChangeSchema, TotpCodeSchema
from ..services.authentication import AccountSecurityService, second_factor_required
from ..services.errors import ServiceError
from ..services.passwords import MIN_LENGTH
from ..services.staff import ROLE_LABELS
from .auth import attempt

ACCOUNT = r"^/account/?$"
PASSWORD = r"^/account/password/?$"
TOTP = r"^/account/totp/?$"
EVERYWHERE = r"^/account/signout-everywhere/?$"


def _back_to_account(request, message):
    flash(request, message)
    return HTTPSeeOther(request.application_url + "/account")


def _form(request, schema, name, title):
    return make_form(request, schema, buttons=(button(request, name, title),))


@view_config(context=Root, name="account", path_info=ACCOUNT, request_method="GET",
             renderer="account/overview.jinja2", permission=P.ACCOUNT_MANAGE)
def overview(request):
    account = request.identity.account
    service = request.service(AccountSecurityService)
    memberships = service.memberships(account)
    return {
        "account": account,
        "memberships": memberships,
        "role_labels": ROLE_LABELS,
        "must_enrol": request.identity.must_enrol,
        "outside_office": bool(memberships)
        and not request.app_settings.admin_allowed_from(request.remote_addr),
    }


def _password_form(request):
    return _form(request, PasswordChangeSchema(), "change", _("Change password"))


def _password_page(form_html):
    return {"form": form_html, "min_length": MIN_LENGTH}


@view_config(context=Root, name="account", path_info=PASSWORD, request_method="GET",
             renderer="account/password.jinja2", permission=P.ACCOUNT_MANAGE)
def password_page(request):
    return _password_page(_password_form(request).render())


@view_config(context=Root, name="account", path_info=PASSWORD, request_method="POST",
             renderer="account/password.jinja2", permission=P.ACCOUNT_MANAGE)
def change_password(request):
    identity = request.identity
    outcome = attempt(request, _password_form(request), lambda data: request.service(
        AccountSecurityService).change_password(
            request.actor, identity.account, data["current_password"], data["new_password"],
            keep=identity.auth_session))
    if outcome.failed:
        return _password_page(outcome.form_html)
    return _back_to_account(
        request, _("Your password has been changed. Your other devices have been signed out.")
    )


def _grouped(secret: str) -> str:
    """The secret in blocks of four, easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _totp_page(request, form_html=None, regenerate_html=None):
    """The TOTP page in its three states: off, waiting for the first code, on."""
    account = request.identity.account
    if account.has_totp:
        return {
            "state": "on",
            "form": form_html or _disable_form(request).render(),
            "regenerate_form": regenerate_html or _regenerate_form(request).render(),
            "recovery_left": request.service(AccountSecurityService).recovery_codes_left(account),
            "required": second_factor_required(account),
        }
    if not account.totp_secret:
        return {"state": "off"}
    form_html = form_html or _form(request, TotpCodeSchema(), "confirm", _("Turn on")).render()
    uri = AccountSecurityService.provisioning_uri(account)
    return {
        "state": "confirm",
        "form": form_html,
        "qr": segno.make(uri, error="m").svg_data_uri(scale=5),
        "secret": _grouped(account.totp_secret),
    }


def _disable_form(request):
    return _form(request, TotpCodeSchema(), "disable", _("Turn off"))


def _regenerate_form(request):
    return make_form(request, TotpCodeSchema(), formid="regenerate",
                     buttons=(button(request, "regenerate", _("Make new recovery codes")),))


def _recovery_codes_page(codes):
    return {"state": "codes", "codes": codes}


@view_config(context=Root, name="account", path_info=TOTP, request_method="GET",
             renderer="account/totp.jinja2", permission=P.ACCOUNT_MANAGE)
def totp_page(request):
    return _totp_page(request)


@view_config(context=Root, name="account", path_info=TOTP, request_method="POST",
             request_param="start", renderer="account/totp.jinja2",
             permission=P.ACCOUNT_MANAGE)
def totp_start(request):
    try:
        request.service(AccountSecurityService).begin_totp(request.actor, request.identity.account)
    except ServiceError as error:
        return _back_to_account(request, error.message)
    return HTTPSeeOther(request.application_url + "/account/totp")


@view_config(context=Root, name="account", path_info=TOTP, request_method="POST",
             request_param="confirm", renderer="account/totp.jinja2",
             permission=P.ACCOUNT_MANAGE)
def totp_confirm(request):
    identity = request.identity
    outcome = attempt(request, _form(request, TotpCodeSchema(), "confirm", _("Turn on")),
                      lambda data: request.service(AccountSecurityService).enable_totp(
                          request.actor, identity.account, data["code"],
                          keep=identity.auth_session))
    if outcome.failed:
        return _totp_page(request, outcome.form_html)
    return _recovery_codes_page(outcome.result)


@view_config(context=Root, name="account", path_info=TOTP, request_method="POST",
             request_param="regenerate", renderer="account/totp.jinja2",
             permission=P.ACCOUNT_MANAGE)
def recovery_codes_regenerate(request):
    outcome = attempt(request, _regenerate_form(request), lambda data: request.service(
        AccountSecurityService).regenerate_recovery_codes(
            request.actor, request.identity.account, data["code"]))
    if outcome.failed:
        return _totp_page(request, regenerate_html=outcome.form_html)
    return _recovery_codes_page(outcome.result)


@view_config(context=Root, name="account", path_info=TOTP, request_method="POST",
             request_param="disable", renderer="account/totp.jinja2",
             permission=P.ACCOUNT_MANAGE)
def totp_disable(request):
    identity = request.identity
    outcome = attempt(request, _disable_form(request), lambda data: request.service(
        AccountSecurityService).disable_totp(request.actor, identity.account, data["code"],
                                             keep=identity.auth_session))
    if outcome.failed:
        return _totp_page(request, outcome.form_html)
    if second_factor_required(identity.account):
        return _back_to_account(request, _("Two-step sign-in is now off. Set it up again with "
                                           "your new device to reach the staff screens."))
    return _back_to_account(request, _("Two-step sign-in is now off."))


@view_config(context=Root, name="account", path_info=EVERYWHERE, request_method="POST",
             permission=P.ACCOUNT_MANAGE)
def signout_everywhere(request):
    request.service(AccountSecurityService).sign_out_everywhere(
        request.actor, request.identity.account
    )
    request.session.invalidate()
    flash(request, _("You have been signed out on every device."))
    return HTTPSeeOther(request.application_url + "/signin", headers=forget(request))
