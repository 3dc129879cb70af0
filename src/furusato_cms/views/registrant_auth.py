"""A registrant's sign-up (/signup, 新規登録), the confirmation link (/confirm/{token},
/confirm/resend) and password reset by mail (/password-reset, /password-reset/{token},
also for staff).

Opening a link only shows a page; the change happens when its button is pressed
(POST), so mail scanners that fetch links confirm nothing. Pages carrying a token
are never cached.
"""
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import make_form, validate
from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..schemas.policies import with_terms
from ..schemas.registrant import (
    ConfirmEmailSchema,
    EmailSchema,
    NewPasswordSchema,
    SignupSchema,
)
from ..services.errors import ServiceError
from ..services.passwords import MIN_LENGTH
from ..services.policies import PolicyService
from ..services.registrant_accounts import (
    CONFIRM,
    CONFIRM_HOURS,
    RESET,
    RESET_MINUTES,
    RegistrantAccountService,
)
from .auth import attempt, sign_in_browser

SIGNUP = r"^/signup/?$"
CONFIRM_RESEND = r"^/confirm/resend/?$"
CONFIRM_LINK = r"^/confirm/(?!resend/?$)[^/]+/?$"
RESET_REQUEST = r"^/password-reset/?$"
RESET_LINK = r"^/password-reset/[^/]+/?$"
MY_HOME = "/my/"
LINK_INVALID_STATUS = 404


def _form(request, schema, button, title):
    return make_form(
        request, schema, buttons=(deform.Button(button, request.localizer.translate(title)),)
    )


def _service(request) -> RegistrantAccountService:
    request.response.cache_control.no_store = True
    return request.service(RegistrantAccountService)


def _token(request) -> str:
    return request.subpath[0] if len(request.subpath) == 1 else ""


def _check_mail(request, kind, message):
    """The same "check your mail" answer whether or not an account fits the address."""
    request.override_renderer = "registrant/check_mail.jinja2"
    return {"kind": kind, "message": message}


# Sign-up --------------------------------------------------------------------------

def _signup_form(request):
    return _form(request, with_terms(SignupSchema()), "signup", _("Create my account"))


def _signup_page(form_html):
    return {"form": form_html, "min_length": MIN_LENGTH}


@view_config(context=Root, name="signup", path_info=SIGNUP, request_method="GET",
             renderer="registrant/signup.jinja2", permission=P.SIGN_UP)
def signup_page(request):
    identity = request.identity
    if identity is not None:
        home = MY_HOME if identity.account.kind == "registrant" else "/account"
        return HTTPSeeOther(request.application_url + home)
    return _signup_page(_signup_form(request).render())


@view_config(context=Root, name="signup", path_info=SIGNUP, request_method="POST",
             renderer="registrant/signup.jinja2", permission=P.SIGN_UP)
def signup(request):
    def sign_up(data):
        account = _service(request).sign_up(data["email"], data["display_name"],
                                            data["password"], data["locale"], request.remote_addr)
        if account is not None:
            request.service(PolicyService).accept_terms(account)
        return data["email"]

    outcome = attempt(request, _signup_form(request), sign_up)
    if outcome.failed:
        return _signup_page(outcome.form_html)
    return _check_mail(request, "confirm", _(
        "We have sent a mail to ${email}. Open the link in it within ${hours} hours to "
        "finish signing up.", mapping={"email": outcome.result, "hours": CONFIRM_HOURS}
    ))


# Confirming the address -----------------------------------------------------------

def _link_invalid(request, again_path, again_label):
    """The friendly page for a link that is unknown, used, replaced or expired."""
    request.override_renderer = "registrant/link_invalid.jinja2"
    request.response.status_int = LINK_INVALID_STATUS
    return {"again_path": again_path, "again_label": again_label}


def _confirm_link_invalid(request):
    return _link_invalid(request, "/confirm/resend", _("Send the confirmation mail again"))


def _confirm_form(request):
    return _form(request, ConfirmEmailSchema(), "confirm", _("Confirm my email address"))


@view_config(context=Root, name="confirm", path_info=CONFIRM_LINK, request_method="GET",
             renderer="registrant/confirm.jinja2", permission=P.SIGN_UP)
def confirm_page(request):
    if _service(request).find_link(_token(request), CONFIRM) is None:
        return _confirm_link_invalid(request)
    return {"form": _confirm_form(request).render()}


@view_config(context=Root, name="confirm", path_info=CONFIRM_LINK, request_method="POST",
             renderer="registrant/confirm.jinja2", permission=P.SIGN_UP)
def confirm(request):
    try:
        validate(request, _confirm_form(request))
        account = _service(request).confirm(_token(request), request.remote_addr)
    except (deform.ValidationFailure, ServiceError):
        return _confirm_link_invalid(request)
    response = sign_in_browser(request, account, MY_HOME)
    request.session.flash(request.localizer.translate(
        _("Your email address is confirmed. Welcome!")
    ))
    return response


def _email_page(kind, form_html):
    return {"kind": kind, "form": form_html}


def _email_request(request, kind, send, sent_message):
    """Shared by "send the confirmation again" and "reset my password": both take an
    address, mail it if an account fits, and answer the same either way.
    ``sent_message(email)`` is that answer."""
    form = _form(request, EmailSchema(), "send", _("Send the mail"))
    if request.method == "GET":
        return _email_page(kind, form.render())
    def mail(data):
        send(data["email"], request.remote_addr)
        return data["email"]

    outcome = attempt(request, form, mail)
    if outcome.failed:
        return _email_page(kind, outcome.form_html)
    return _check_mail(request, kind, sent_message(outcome.result))


@view_config(context=Root, name="confirm", path_info=CONFIRM_RESEND,
             request_method=("GET", "POST"), renderer="registrant/email_form.jinja2",
             permission=P.SIGN_UP)
def resend_confirmation(request):
    return _email_request(
        request, "confirm", _service(request).resend_confirmation,
        lambda email: _(
            "If an account waiting for confirmation uses ${email}, we have sent it a new "
            "mail. Open the link in it within ${hours} hours.",
            mapping={"email": email, "hours": CONFIRM_HOURS},
        ),
    )


# Password reset -------------------------------------------------------------------

@view_config(context=Root, name="password-reset", path_info=RESET_REQUEST,
             request_method=("GET", "POST"), renderer="registrant/email_form.jinja2",
             permission=P.VIEW)
def request_password_reset(request):
    return _email_request(
        request, "reset", _service(request).request_password_reset,
        lambda email: _(
            "If an account uses ${email}, we have sent it a mail with a link to set a new "
            "password. The link works for ${minutes} minutes.",
            mapping={"email": email, "minutes": RESET_MINUTES},
        ),
    )


def _reset_form(request):
    return _form(request, NewPasswordSchema(), "reset", _("Set the new password"))


def _reset_page(form_html):
    return {"form": form_html, "min_length": MIN_LENGTH}


def _reset_link_invalid(request):
    return _link_invalid(request, "/password-reset", _("Ask for a new link"))


@view_config(context=Root, name="password-reset", path_info=RESET_LINK, request_method="GET",
             renderer="registrant/reset.jinja2", permission=P.VIEW)
def reset_page(request):
    if _service(request).find_link(_token(request), RESET) is None:
        return _reset_link_invalid(request)
    return _reset_page(_reset_form(request).render())


@view_config(context=Root, name="password-reset", path_info=RESET_LINK, request_method="POST",
             renderer="registrant/reset.jinja2", permission=P.VIEW)
def reset_password(request):
    service = _service(request)
    if service.find_link(_token(request), RESET) is None:
        return _reset_link_invalid(request)
    outcome = attempt(request, _reset_form(request), lambda data: service.reset_password(
        _token(request), data["password"], request.remote_addr))
    if outcome.failed:
        return _reset_page(outcome.form_html)
    request.session.invalidate()
    request.session.flash(request.localizer.translate(
        _("Your new password is set. Sign in with it. Every device that was signed in "
          "has been signed out.")
    ))
    return HTTPSeeOther(request.application_url + "/signin")
