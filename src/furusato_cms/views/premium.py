"""The registrant's premium page (/my/premium, プレミアム登録): progress toward premium for
each basic registration ("2 of 3 activities in the last 12 months"), the apply button,
premium held with its validity and long-stay mark, applications with their states and
reasons, and stays (history and declarations). Applying is ``POST /my/premium/apply``;
a refusal is a page naming every failed rule. The rules are in services/premium.py.
"""
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from ..forms import flash
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.my import MyArea
from ..schemas.premium import row_id
from ..services.eligibility import PREMIUM_SITES_LIMIT
from ..services.errors import ServiceError
from ..services.premium import KIND_LABELS, STATE_LABELS, PremiumRefused, PremiumService
from ..services.registration import RegistrationService
from ..services.stays import DECLARATION_STATES, SOURCE_LABELS, StayService

PAGE = r"^/my/premium/?$"
APPLY = r"^/my/premium/apply/?$"


def _back(request, message):
    flash(request, message)
    return HTTPSeeOther(request.application_url + "/my/premium")


@view_config(context=MyArea, name="premium", path_info=PAGE, request_method="GET",
             renderer="premium/my_premium.jinja2", permission=P.REGISTRANT_SELF)
def my_premium(request):
    account = request.identity.account
    premium = request.service(PremiumService)
    stays = request.service(StayService)
    return {
        "progress": premium.progress(account),
        "premium": premium.premium_registrations(account),
        "applications": premium.applications_of(account),
        "stays": stays.history(account),
        "declarations": stays.declarations_of(account),
        "state_labels": STATE_LABELS,
        "kind_labels": KIND_LABELS,
        "declaration_states": DECLARATION_STATES,
        "source_labels": SOURCE_LABELS,
        "limit": PREMIUM_SITES_LIMIT,
    }


@view_config(context=MyArea, name="premium", path_info=APPLY, request_method="POST",
             permission=P.REGISTRANT_SELF)
def apply(request):
    account = request.identity.account
    registration_id = row_id(request.POST.get("registration"))
    registration = registration_id and request.service(RegistrationService).registration_of(
        account, registration_id)
    if not registration:
        raise HTTPNotFound()
    site = registration.site
    try:
        application = request.service(PremiumService).apply(account, registration)
    except PremiumRefused as refused:
        request.response.status_int = 403
        return render_to_response("premium/refused.jinja2",
                                  {"message": refused.message, "reasons": refused.reasons},
                                  request=request, response=request.response)
    except ServiceError as error:
        return _back(request, error.message)
    if application.state == "approved":
        return _back(request, _("Your registration with ${site} is now premium.",
                                mapping={"site": site.name}))
    return _back(request, _("Your application to ${site} has been sent. A coordinator of "
                            "${site} will review it.", mapping={"site": site.name}))
