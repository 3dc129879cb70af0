"""Identity verification with the My Number Card (マイナンバーカードによる本人確認) in the
registrant's own area, and the guardian's confirmation page (保護者の同意).

- ``/my/identity``: the status, a button to verify (again), the guardian step for minors;
- ``/my/identity/start`` (POST): to the identity provider; what the callback must match
  (state, nonce, PKCE verifier) waits in the server-signed session cookie — signed, not
  encrypted, which is enough for one-time values that belong to this browser's own request;
- ``/my/identity/callback``: back from the provider (a GET, as OpenID Connect redirects;
  the state ties it to the request this browser started, and it is used once); any
  failure ends on a page saying that nothing changed, with a button to try again;
- ``/my/identity/guardian``: a minor names their guardian, who gets a link by mail;
- ``/guardian-consent/{token}``: the guardian (no account needed) confirms.
"""
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import make_form, show_error, validate
from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..resources.my import MyArea
from ..schemas.identity import GuardianConsentSchema
from ..services.errors import NotAllowed, ServiceError
from ..services.identity import GUARDIAN_RELATIONSHIPS, IdentityError, IdentityService

PENDING = "identity.pending"
IDENTITY = r"^/my/identity/?$"
START = r"^/my/identity/start/?$"
CALLBACK = r"^/my/identity/callback/?$"
GUARDIAN = r"^/my/identity/guardian/?$"


def _identity_page(request, message=None):
    if message is not None:
        request.session.flash(request.localizer.translate(message))
    return HTTPSeeOther(request.application_url + "/my/identity")


def _failed(error: IdentityError):
    """Verification did not complete: say so plainly, and that nothing changed."""
    return {"message": error.message, "reason": error.reason}


@view_config(context=MyArea, name="identity", path_info=IDENTITY, request_method="GET",
             renderer="identity/status.jinja2", permission=P.REGISTRANT_SELF)
def status_page(request):
    status = request.service(IdentityService).status(request.identity.account)
    return {"status": status, "relationships": GUARDIAN_RELATIONSHIPS}


@view_config(context=MyArea, name="identity", path_info=START, request_method="POST",
             renderer="identity/failed.jinja2", permission=P.REGISTRANT_SELF)
def start(request):
    try:
        url, pending = request.service(IdentityService).begin(request.identity.account)
    except IdentityError as error:
        return _failed(error)
    request.session[PENDING] = pending
    return HTTPSeeOther(url)


@view_config(context=MyArea, name="identity", path_info=CALLBACK, request_method="GET",
             renderer="identity/failed.jinja2", permission=P.REGISTRANT_SELF)
def callback(request):
    pending = request.session.pop(PENDING, None)
    account = request.identity.account
    service = request.service(IdentityService)
    try:
        service.complete(account, pending, request.GET)
    except IdentityError as error:
        return _failed(error)
    if service.needs_guardian_consent(account):
        return _identity_page(request, _(
            "Your identity has been verified. Because you are under 18, please ask your "
            "guardian for consent."))
    return _identity_page(request, _("Your identity has been verified."))


def _guardian_form(request):
    button = deform.Button("send", request.localizer.translate(_("Send the request")))
    return make_form(request, GuardianConsentSchema(), buttons=(button,))


@view_config(context=MyArea, name="identity", path_info=GUARDIAN, request_method="GET",
             renderer="identity/guardian_form.jinja2", permission=P.REGISTRANT_SELF)
def guardian_form(request):
    status = request.service(IdentityService).status(request.identity.account)
    if not status.needs_guardian_consent:
        return _identity_page(request)
    consent = status.consent
    appstruct = {} if consent is None else {
        "guardian_name": consent.guardian_name,
        "relationship": consent.relationship_to_minor,
        "guardian_email": consent.guardian_email,
    }
    return {"form": _guardian_form(request).render(appstruct)}


@view_config(context=MyArea, name="identity", path_info=GUARDIAN, request_method="POST",
             renderer="identity/guardian_form.jinja2", permission=P.REGISTRANT_SELF)
def guardian_request(request):
    form = _guardian_form(request)
    try:
        data = validate(request, form)
        consent = request.service(IdentityService).record_guardian_consent(
            request.identity.account, data["guardian_name"], data["relationship"],
            data["guardian_email"],
        )
    except deform.ValidationFailure as failure:
        return {"form": failure.render()}
    except ServiceError as error:
        return {"form": show_error(form, error.message, error.field)}
    return _identity_page(request, _(
        "We sent a mail to ${email}. Your guardian's consent counts once they confirm it "
        "through the link in that mail.", mapping={"email": consent.guardian_email}))


def _guardian_token(request) -> str:
    return request.subpath[0] if len(request.subpath) == 1 else ""


def _guardian_refused(request, error: NotAllowed):
    request.response.status_int = 404
    return {"state": "invalid", "message": error.message}


@view_config(context=Root, name="guardian-consent", request_method="GET",
             renderer="identity/guardian_consent.jinja2", permission=P.VIEW)
def guardian_page(request):
    """Shows who asks, and the confirmation button. The token is in the address, so the
    page is never cached."""
    request.response.cache_control = "no-store"
    try:
        consent = request.service(IdentityService).consent_for_token(_guardian_token(request))
    except NotAllowed as error:
        return _guardian_refused(request, error)
    return {"state": "ask", "consent": consent, "relationships": GUARDIAN_RELATIONSHIPS}


@view_config(context=Root, name="guardian-consent", request_method="POST",
             renderer="identity/guardian_consent.jinja2", permission=P.VIEW)
def guardian_confirm(request):
    request.response.cache_control = "no-store"
    try:
        consent = request.service(IdentityService).confirm_guardian_consent(
            _guardian_token(request))
    except NotAllowed as error:
        return _guardian_refused(request, error)
    return {"state": "done", "consent": consent, "relationships": GUARDIAN_RELATIONSHIPS}
