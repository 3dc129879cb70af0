"""The national operator's screens (/operator/): applications, all sites, and the
decisions of the site lifecycle (承認・却下・停止・再開・脱退)."""
import itertools

import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, show_error, validate
from ..i18n import _
from ..models.site import SITE_STATES
from ..permissions import Permissions as P
from ..resources.operator import OperatedSite, OperatorArea
from ..schemas.sites import ApproveSchema, ConfirmSchema, InviteAdminSchema, ReasonSchema
from ..services.errors import ServiceError
from ..services.invitations import invitation_path
from ..services.sites import STATE_LABELS, SiteLifecycleService
from .public import page_param

DECISIONS = {
    "approve": (ApproveSchema, _("Approve and invite the first site administrator")),
    "reject": (ReasonSchema, _("Reject the application")),
    "suspend": (ReasonSchema, _("Suspend the site")),
    "reactivate": (ConfirmSchema, _("Reactivate the site")),
    "withdraw": (ReasonSchema, _("Record the withdrawal")),
    "invite_admin": (InviteAdminSchema, _("Invite a site administrator")),
}
DECISION_DONE = {
    "reject": _("The application was rejected."),
    "suspend": _("The site was suspended."),
    "reactivate": _("The site is active again."),
    "withdraw": _("The withdrawal was recorded."),
}
INVITING = ("approve", "invite_admin")


@view_config(context=OperatorArea, renderer="operator/sites.jinja2", permission=P.OPERATOR_VIEW)
def site_list(context, request):
    state = request.GET.get("state") or None
    if state is not None and state not in SITE_STATES:
        raise HTTPBadRequest(_("Unknown state."))
    service = request.service(SiteLifecycleService)
    listing = service.listing(state, page_param(request))
    fees = {s.id: service.fee_status(s) for s in [*listing.pending, *listing.items]}
    return {
        "listing": listing,
        "fees": fees,
        "state": state,
        "states": SITE_STATES,
        "state_labels": STATE_LABELS,
    }


def _open_decisions(service, site) -> list:
    names = list(service.allowed_decisions(site))
    if site.state in ("active", "suspended"):
        names.append("invite_admin")
    return names


def _form(request, context, name, counter):
    schema_class, label = DECISIONS[name]
    return deform.Form(
        schema_class().bind(request=request),
        buttons=(button(request, name, label),),
        action=request.resource_url(context, name),
        formid=name,
        counter=counter,
    )


def _detail(request, context, *, rendered=None, error=None, token=None):
    """The site page; ``rendered`` replaces one form's markup (with its field errors),
    ``error`` is a refusal that belongs to no field (e.g. the state changed meanwhile)."""
    service = request.service(SiteLifecycleService)
    site = context.site
    rendered = rendered or {}
    open_names = _open_decisions(service, site)
    counter = itertools.count()
    forms = {}
    for name in open_names + [n for n in rendered if n not in open_names]:
        if name in rendered:
            forms[name] = rendered[name]
        else:
            appstruct = {"admin_email": site.contact_email} if name == "approve" else {}
            forms[name] = _form(request, context, name, counter).render(appstruct)
    return {
        "site_row": site,
        "fee": service.fee_status(site),
        "history": service.history(site),
        "forms": forms,
        "state_labels": STATE_LABELS,
        "invitation_url": request.application_url + invitation_path(token) if token else None,
        "error": request.localizer.translate(error) if error else None,
    }


@view_config(context=OperatedSite, renderer="operator/site.jinja2", permission=P.OPERATOR_VIEW,
             request_method="GET")
def site_detail(context, request):
    return _detail(request, context)


def _decide(context, request, name):
    form = _form(request, context, name, itertools.count(100))
    try:
        values = validate(request, form)
    except deform.ValidationFailure as exc:
        request.response.status_int = 400
        return _detail(request, context, rendered={name: exc.render()})
    service = request.service(SiteLifecycleService)
    method = getattr(service, name)
    try:
        result = method(request.actor, context.site, **values)
    except ServiceError as exc:
        request.response.status_int = 400
        if exc.field is None:
            return _detail(request, context, error=exc.message)
        return _detail(request, context, rendered={name: show_error(form, exc.message, exc.field)})
    if name in INVITING:
        return _detail(request, context, token=result)
    flash(request, DECISION_DONE[name])
    return HTTPSeeOther(request.resource_url(context))


def _register(name):
    @view_config(context=OperatedSite, name=name, renderer="operator/site.jinja2",
                 permission=P.OPERATOR_DECIDE, request_method="POST")
    def decide(context, request):
        return _decide(context, request, name)

    decide.__name__ = f"decide_{name}"
    return decide


decide_approve = _register("approve")
decide_reject = _register("reject")
decide_suspend = _register("suspend")
decide_reactivate = _register("reactivate")
decide_withdraw = _register("withdraw")
decide_invite_admin = _register("invite_admin")
