"""Needs intake: /s/{code}/needs/ (send a need; your needs; for coordinators every need)
and /s/{code}/needs/{id} (one need; its triage). Rules in services/needs.py; who may do
what in resources/needs.py."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, refusal_status_of, show_error, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.needs import TRIAGERS, NeedResource, NeedsContainer
from ..schemas.needs import DeclineSchema, MakeProjectSchema, NeedSchema
from ..services.errors import ServiceError
from ..services.needs import STATE_LABELS, NeedService

LIST = "needs/needs.jinja2"
ONE = "needs/need.jinja2"


def _need_form(request):
    return make_form(request, NeedSchema(), buttons=(button(request, "send", _("Send the need")),))


def _submitter_role(request, site) -> str:
    """The role the need is sent in: the strongest staff role at this site, else a
    registrant."""
    roles = {m.role for m in request.identity.memberships if m.site_id == site.id}
    return next((role for role in (*TRIAGERS, "partner") if role in roles), "registrant")


def _list_page(context, request, form_html):
    service = request.service(NeedService)
    account = request.identity.account
    triage = bool(request.has_permission(P.NEED_TRIAGE, context))
    state = request.GET.get("state") or None
    return {"form": form_html, "mine": service.of_submitter(context.site, account),
            "triage": triage, "state": state,
            "every": service.of_site(context.site, state) if triage else [],
            "counts": service.counts(context.site) if triage else None,
            "state_labels": STATE_LABELS}


@view_config(context=NeedsContainer, renderer=LIST, permission=P.NEED_SUBMIT,
             request_method="GET")
def needs_page(context, request):
    return _list_page(context, request, _need_form(request).render())


@view_config(context=NeedsContainer, renderer=LIST, permission=P.NEED_SUBMIT,
             request_method="POST")
def send_need(context, request):
    def run(values):
        values.pop("csrf_token", None)
        return request.service(NeedService).submit(
            request.identity.account, context.site, _submitter_role(request, context.site),
            **values)

    outcome = submit(request, _need_form(request), run)
    if outcome.failed:
        return _list_page(context, request, outcome.form_html)
    flash(request, _("Thank you. The local government will read it and answer here."))
    return HTTPSeeOther(request.resource_url(context, str(outcome.result.id)))


def _decline_form(request, context):
    return make_form(request, DeclineSchema(), action=request.resource_url(context, "decline"),
                     formid="decline", buttons=(button(request, "decline", _("Decline")),))


def _project_form(request, context):
    return make_form(request, MakeProjectSchema(),
                     action=request.resource_url(context, "project"), formid="project",
                     buttons=(button(request, "project", _("Make it a project")),))


def _need_page(context, request, decline_html=None, project_html=None):
    triage = bool(request.has_permission(P.NEED_TRIAGE, context))
    need = context.need
    return {"need": need, "triage": triage, "state_labels": STATE_LABELS,
            "open": need.state in ("new", "accepted"),
            "decline_form": (decline_html or _decline_form(request, context).render())
            if triage else None,
            "project_form": (project_html or _project_form(request, context).render())
            if triage else None}


@view_config(context=NeedResource, renderer=ONE, permission=P.NEED_VIEW, request_method="GET")
def need_page(context, request):
    return _need_page(context, request)


@view_config(context=NeedResource, name="accept", renderer=ONE, permission=P.NEED_TRIAGE,
             request_method="POST")
def accept(context, request):
    try:
        request.service(NeedService).accept(request.actor, context.need)
    except ServiceError as refused:
        request.response.status_int = refusal_status_of(refused)
        flash(request, refused.message)
        return _need_page(context, request)
    flash(request, _("Accepted. Make it a project when you are ready."))
    return HTTPSeeOther(request.resource_url(context))


@view_config(context=NeedResource, name="decline", renderer=ONE, permission=P.NEED_TRIAGE,
             request_method="POST")
def decline(context, request):
    outcome = submit(request, _decline_form(request, context), lambda values: request.service(
        NeedService).decline(request.actor, context.need, values["reason"]))
    if outcome.failed:
        return _need_page(context, request, decline_html=outcome.form_html)
    flash(request, _("Declined. The person who sent it can read your reason."))
    return HTTPSeeOther(request.resource_url(context))


@view_config(context=NeedResource, name="project", renderer=ONE, permission=P.NEED_TRIAGE,
             request_method="POST")
def make_project(context, request):
    if not request.has_permission(P.PROJECT_CREATE, context):
        form = _project_form(request, context)
        request.response.status_int = 403
        return _need_page(context, request, project_html=show_error(
            form, _("You may not create projects at this site.")))
    outcome = submit(request, _project_form(request, context), lambda values: request.service(
        NeedService).make_project(request.actor, context.need, context.site, values["field"]))
    if outcome.failed:
        return _need_page(context, request, project_html=outcome.form_html)
    flash(request, _("A draft project was made from this need. Add its sessions and publish it."))
    return HTTPSeeOther(
        f"{request.application_url}/s/{context.site.code}/projects/{outcome.result.id}/edit")
