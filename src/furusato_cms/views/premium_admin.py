"""The coordinators' review queue (/s/{code}/premium/, プレミアム登録の審査): pending
applications and renewals and stay declarations, each with its evidence; approving,
rejecting with a reason the person sees, confirming declared stays and reading their
documents (audited). All need ``site:premium:review``; the rules are in
services/premium.py and services/stays.py.
"""
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..forms import button, flash, make_form, refusal_status_of, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.premium import ApplicationResource, DeclarationResource, PremiumArea
from ..schemas.premium import ReasonSchema, row_id
from ..services.eligibility import stored_requirements
from ..services.errors import ServiceError
from ..services.premium import KIND_LABELS, STATE_LABELS, PremiumRefused, PremiumService
from ..services.stays import DECLARATION_STATES, EXTENSIONS, StayService

APPLICATION_PAGE = "premium/application.jinja2"
DECLARATION_PAGE = "premium/declaration.jinja2"


def _queue_url(request, context):
    return request.resource_url(context.__parent__.__parent__)


@view_config(context=PremiumArea, renderer="premium/queue.jinja2",
             permission=P.PREMIUM_REVIEW, request_method="GET")
def queue(context, request):
    applications = request.service(PremiumService).pending(context.site)
    return {
        "applications": [(row, stored_requirements(row.application.evidence))
                         for row in applications],
        "declarations": request.service(StayService).pending_declarations(context.site),
        "kind_labels": KIND_LABELS,
    }


def _decide(context, request, decide, refused, done):
    """A decision button: back to the queue with ``done(result)``, or ``refused(error)``
    with the refusal's status (403 when premium itself is refused, with its reasons)."""
    try:
        result = decide()
    except ServiceError as error:
        request.response.status_int = (403 if isinstance(error, PremiumRefused)
                                       else refusal_status_of(error))
        return refused(error)
    flash(request, done(result))
    return HTTPSeeOther(_queue_url(request, context))


# -- applications ---------------------------------------------------------------------------

def _reject_form(request, context):
    return make_form(request, ReasonSchema(), action=request.resource_url(context, "reject"),
                     buttons=(button(request, "reject", _("Reject")),))


def _application_page(context, request, *, reject_form=None, refusal=None, reasons=()):
    service = request.service(PremiumService)
    application = context.application
    evidence = application.evidence or {}
    decision = evidence.get("decision")
    return {
        "application": application,
        "registration": service.registration_of(application),
        "evidence": evidence,
        "requirements": stored_requirements(evidence),
        "decision": decision,
        "decision_requirements": stored_requirements(decision) if decision else [],
        "reject_form": reject_form or (_reject_form(request, context).render()
                                       if application.state == "pending" else None),
        "refusal": refusal,
        "reasons": reasons,
        "kind_labels": KIND_LABELS,
        "state_labels": STATE_LABELS,
        "queue_url": _queue_url(request, context),
    }


@view_config(context=ApplicationResource, renderer=APPLICATION_PAGE,
             permission=P.PREMIUM_REVIEW, request_method="GET")
def application_page(context, request):
    return _application_page(context, request)


@view_config(context=ApplicationResource, name="approve", renderer=APPLICATION_PAGE,
             permission=P.PREMIUM_REVIEW, request_method="POST")
def approve(context, request):
    return _decide(
        context, request,
        lambda: request.service(PremiumService).approve(request.actor, context.application),
        lambda error: _application_page(context, request, refusal=error.message,
                                        reasons=getattr(error, "reasons", ())),
        lambda _approved: _("Approved: the registration is premium now."))


@view_config(context=ApplicationResource, name="reject", renderer=APPLICATION_PAGE,
             permission=P.PREMIUM_REVIEW, request_method="POST")
def reject(context, request):
    return _reject_with_reason(
        context, request, _reject_form(request, context),
        lambda reason: request.service(PremiumService).reject(
            request.actor, context.application, reason),
        _application_page, _("Rejected. The applicant sees your reason."))


def _reject_with_reason(context, request, form, do_reject, page, done_message):
    """A refusal with a reason the person will see: the form again on bad input, else back
    to the queue."""
    outcome = submit(request, form, lambda values: do_reject(values["reason"]))
    if outcome.failed:
        return page(context, request, reject_form=outcome.form_html)
    flash(request, done_message)
    return HTTPSeeOther(_queue_url(request, context))


# -- stay declarations ----------------------------------------------------------------------

def _declaration_reject_form(request, context):
    return make_form(request, ReasonSchema(), action=request.resource_url(context, "reject"),
                     buttons=(button(request, "reject", _("Do not confirm")),))


def _declaration_page(context, request, *, reject_form=None, error=None):
    service = request.service(StayService)
    declaration = context.declaration
    return {
        "declaration": declaration,
        "person": service.person_of(declaration),
        "documents": service.documents_of(declaration),
        "days": (declaration.last_day - declaration.first_day).days + 1,
        "reject_form": reject_form or (_declaration_reject_form(request, context).render()
                                       if declaration.state == "pending" else None),
        "error": error,
        "states": DECLARATION_STATES,
        "queue_url": _queue_url(request, context),
    }


@view_config(context=DeclarationResource, renderer=DECLARATION_PAGE,
             permission=P.PREMIUM_REVIEW, request_method="GET")
def declaration_page(context, request):
    return _declaration_page(context, request)


@view_config(context=DeclarationResource, name="confirm", renderer=DECLARATION_PAGE,
             permission=P.PREMIUM_REVIEW, request_method="POST")
def confirm(context, request):
    return _decide(
        context, request,
        lambda: request.service(StayService).confirm(request.actor, context.declaration),
        lambda error: _declaration_page(context, request, error=error.message),
        lambda added: _("Confirmed: ${count} new days of stay were recorded.",
                        mapping={"count": added}))


@view_config(context=DeclarationResource, name="reject", renderer=DECLARATION_PAGE,
             permission=P.PREMIUM_REVIEW, request_method="POST")
def reject_declaration(context, request):
    return _reject_with_reason(
        context, request, _declaration_reject_form(request, context),
        lambda reason: request.service(StayService).reject(
            request.actor, context.declaration, reason),
        _declaration_page, _("The declaration was not confirmed. The person sees your reason."))


@view_config(context=DeclarationResource, name="document", permission=P.PREMIUM_REVIEW,
             request_method="GET")
def document(context, request):
    document_id = row_id(request.subpath[0]) if len(request.subpath) == 1 else None
    found = document_id and request.service(StayService).document_for_staff(
        request.actor, context.declaration, document_id)
    if not found:
        raise HTTPNotFound()
    response = Response(body=found.data, content_type=found.media_type)
    response.content_disposition = (
        f'attachment; filename="stay-document-{found.id}.{EXTENSIONS[found.media_type]}"')
    response.cache_control = "no-store"
    return response
