"""Staff screens for support measures (サポート施策).

Editors (and the site admin, ``site:support:edit``) write measures and partner offers;
they go through the posts' workflow, so publishing needs ``site:content:publish`` (the
site admin or an editor with the reviewer flag). Coordinators (and the site admin,
``site:support:handle``) work through applications: the queue with computed amounts and
receipts, approve / reject / mark paid, budget use, and the CSV for accounting. Seeing
applicants' data and receipts is recorded in the audit log.
"""
from dataclasses import dataclass

import colander
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..clock import to_tokyo
from ..forms import button, flash, make_form, refusal_status_of, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.support import (
    ApplicationResource,
    ApplicationsContainer,
    MeasureResource,
    OfferResource,
    OffersContainer,
    ReceiptResource,
    SupportContainer,
)
from ..schemas.content import TransitionSchema
from ..schemas.support import MeasureSchema, OfferSchema, RejectSchema, content_schema
from ..services.errors import ServiceError
from ..services.publishing import STATE_LABELS
from ..models.support import APPLICATION_STATES
from ..services.support import SupportService
from .public import page_param
from .support import labels

MEASURE_FIELDS = ("title", "family", "applicants", "summary", "body", "rate_numerator",
                  "rate_denominator", "cap_unit", "form_fields", "publish_at", "expire_at")
OFFER_FIELDS = ("title", "business_name", "business_kind", "place", "summary", "body",
                "applicants", "publish_at", "expire_at")


def _service(request) -> SupportService:
    return request.service(SupportService)


def may_publish(request, context) -> bool:
    """Measures and offers are published by a reviewer (公開承認者) or the site admin."""
    return bool(request.has_permission(P.CONTENT_PUBLISH, context))


# -- the editors' list ---------------------------------------------------------------


@view_config(context=SupportContainer, name="manage", renderer="support/manage.jinja2",
             permission=P.SUPPORT_EDIT, request_method="GET")
def manage(context, request):
    service = _service(request)
    measures = service.all_measures(context.site)
    return labels(measures=measures, offers=service.all_offers(context.site),
                  budgets=service.budget_use(measures), states=STATE_LABELS,
                  now=request.clock())


# -- measures and offers: one editing flow for both ------------------------------------


@dataclass(frozen=True)
class Kind:
    """What differs between editing a measure and an offer: the form, the fields it
    shows, the service's create and update methods, and where the item is on the context."""

    noun: str
    schema_class: type
    fields: tuple
    create: str
    update: str
    attribute: str
    defaults: dict

    def item_of(self, context):
        return getattr(context, self.attribute)


MEASURE = Kind("measure", MeasureSchema, MEASURE_FIELDS, "create_measure", "update_measure",
               "measure", {"applicants": "premium", "rate_numerator": 1, "rate_denominator": 2,
                           "cap_unit": "per_application"})
OFFER = Kind("offer", OfferSchema, OFFER_FIELDS, "create_offer", "update_offer", "offer",
             {"applicants": "basic"})
KIND_OF = {SupportContainer: MEASURE, MeasureResource: MEASURE,
           OffersContainer: OFFER, OfferResource: OFFER}


def _editing_view(containers, name, renderer, request_method):
    """Register one view for measures and offers alike (on their containers, or on one
    item); the view finds the kind from its context with ``KIND_OF``."""
    contexts = (SupportContainer, OffersContainer) if containers else (MeasureResource,
                                                                        OfferResource)

    def register(view):
        for context in contexts:
            view_config(context=context, name=name, renderer=renderer,
                        permission=P.SUPPORT_EDIT, request_method=request_method,
                        _depth=1)(view)
        return view
    return register


def _form(request, kind, *, new):
    label = _("Save as draft") if new else _("Save")
    return make_form(request, content_schema(kind.schema_class, new=new),
                     buttons=(button(request, "save", label),))


def _values(kind, item) -> dict:
    """The form filled from the item; the local-benefit box is left for the editor to
    tick again on every save."""
    values = {name: getattr(item, name) for name in kind.fields}
    if kind is MEASURE and item.pays_money:
        values.update(cap_yen=item.cap_yen, budget_yen=item.budget_yen)
    return {**values, "expected_version": item.version}


def _new_page(kind, form_html):
    heading = (_("New support measure") if kind is MEASURE
               else _("New offer from a local business"))
    return labels(kind=kind.noun, heading=heading, form=form_html)


def _create(context, request, kind):
    def create(data):
        return getattr(_service(request), kind.create)(request.actor, context.site, **data)

    outcome = submit(request, _form(request, kind, new=True), create)
    if outcome.failed:
        return _new_page(kind, outcome.form_html)
    flash(request, _("Saved as a draft. Submit it for review when it is ready; a reviewer "
                     "publishes it."))
    return HTTPSeeOther(request.resource_url(context, str(outcome.result.id), "edit"))


def _edit_page(context, request, kind, form_html=None, *, workflow_error=None, comment=""):
    service = _service(request)
    item = kind.item_of(context)
    return labels(
        kind=kind.noun, item=item, states=STATE_LABELS, now=request.clock(),
        form=form_html or _form(request, kind, new=False).render(_values(kind, item)),
        history=service.publishing.history(item),
        steps=service.publishing.available_transitions(
            item, may_publish=may_publish(request, context)),
        budget=service.budget_use([item])[item.id] if kind is MEASURE else None,
        workflow_error=workflow_error, comment=comment,
    )


def _save(context, request, kind):
    item = kind.item_of(context)

    def save(data):
        getattr(_service(request), kind.update)(
            request.actor, item, may_publish=may_publish(request, context), **data)

    outcome = submit(request, _form(request, kind, new=False), save)
    if outcome.failed:
        return _edit_page(context, request, kind, outcome.form_html)
    flash(request, _("Saved as version ${number}.", mapping={"number": item.version}))
    return HTTPSeeOther(request.resource_url(context, "edit"))


def _transition(context, request, kind):
    """One workflow step; a refusal shows the edit page with the reason."""
    comment = request.POST.get("comment", "")
    try:
        data = TransitionSchema().deserialize(dict(request.POST.items()))
        _service(request).transition(request.actor, kind.item_of(context), data["to_state"],
                                     data["comment"], may_publish=may_publish(request, context))
    except colander.Invalid as exc:
        request.response.status_int = 400
        message = " ".join(exc.asdict(translate=request.localizer.translate).values())
        return _edit_page(context, request, kind, workflow_error=message, comment=comment)
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return _edit_page(context, request, kind, workflow_error=exc.message, comment=comment)
    state = request.localizer.translate(STATE_LABELS[kind.item_of(context).state])
    flash(request, _("It is now: ${state}.", mapping={"state": state}))
    return HTTPSeeOther(request.resource_url(context, "edit"))


@_editing_view(True, "new", "support/new.jinja2", "GET")
def new_item(context, request):
    kind = KIND_OF[type(context)]
    return _new_page(kind, _form(request, kind, new=True).render(kind.defaults))


@_editing_view(True, "new", "support/new.jinja2", "POST")
def create_item(context, request):
    return _create(context, request, KIND_OF[type(context)])


@_editing_view(False, "edit", "support/edit.jinja2", "GET")
def edit_item(context, request):
    return _edit_page(context, request, KIND_OF[type(context)])


@_editing_view(False, "edit", "support/edit.jinja2", "POST")
def save_item(context, request):
    return _save(context, request, KIND_OF[type(context)])


@_editing_view(False, "transition", "support/edit.jinja2", "POST")
def item_transition(context, request):
    return _transition(context, request, KIND_OF[type(context)])


# -- applications ------------------------------------------------------------------------


def _queue_filters(request, site, service):
    state = request.GET.get("state", "submitted")
    if state not in (*APPLICATION_STATES, "all"):
        raise HTTPBadRequest(_("Unknown state. Choose one of the states shown on the page."))
    raw = request.GET.get("measure", "")
    measures = service.all_measures(site)
    if raw and raw not in {str(m.id) for m in measures}:
        raise HTTPBadRequest(_("Unknown measure. Choose one of the measures shown on the page."))
    return (None if state == "all" else state), (int(raw) if raw else None), measures


@view_config(context=ApplicationsContainer, renderer="support/queue.jinja2",
             permission=P.SUPPORT_HANDLE, request_method="GET")
def queue(context, request):
    service = _service(request)
    state, measure_id, measures = _queue_filters(request, context.site, service)
    applications = service.queue(context.site, state=state, measure_id=measure_id,
                                 page=page_param(request))
    service.record_queue_view(request.actor, context.site, len(applications.items))
    return labels(applications=applications, measures=measures,
                  budgets=service.budget_use(measures), state=state or "all",
                  measure_id=measure_id, state_keys=APPLICATION_STATES)


@view_config(context=ApplicationsContainer, name="export.csv", permission=P.SUPPORT_HANDLE,
             request_method="GET")
def export_csv(context, request):
    """Approved and paid applications for accounting; a download, never cached."""
    data = _service(request).export_csv(request.actor, context.site,
                                        translate=request.localizer.translate)
    day = to_tokyo(request.clock()).strftime("%Y%m%d")
    response = Response(body=data, content_type="text/csv", charset="utf-8")
    response.content_disposition = f'attachment; filename="support-{context.site.code}-{day}.csv"'
    response.cache_control = "no-store"
    return response


def _reject_form(request, context):
    return make_form(request, RejectSchema(), action=request.resource_url(context, "reject"),
                     buttons=(button(request, "reject", _("Reject with this reason")),))


def _application_page(context, request, *, error=None, reject_html=None):
    service = _service(request)
    application = context.application
    return labels(application=application, measure=application.measure,
                  preview=service.preview_approval(application) if
                  application.state == "submitted" else None,
                  error=error, reject_form=reject_html or _reject_form(request, context).render())


@view_config(context=ApplicationResource, renderer="support/application.jinja2",
             permission=P.SUPPORT_HANDLE, request_method="GET")
def application_page(context, request):
    _service(request).record_view(request.actor, context.application)
    return _application_page(context, request)


def _decide(context, request, decide, message):
    try:
        decide(_service(request))
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return _application_page(context, request, error=exc.message)
    flash(request, message)
    return HTTPSeeOther(request.resource_url(context))


@view_config(context=ApplicationResource, name="approve", renderer="support/application.jinja2",
             permission=P.SUPPORT_HANDLE, request_method="POST")
def approve(context, request):
    return _decide(context, request,
                   lambda service: service.approve(request.actor, context.application),
                   _("The application was approved."))


@view_config(context=ApplicationResource, name="paid", renderer="support/application.jinja2",
             permission=P.SUPPORT_HANDLE, request_method="POST")
def mark_paid(context, request):
    return _decide(context, request,
                   lambda service: service.mark_paid(request.actor, context.application),
                   _("The application is marked as paid."))


@view_config(context=ApplicationResource, name="reject", renderer="support/application.jinja2",
             permission=P.SUPPORT_HANDLE, request_method="POST")
def reject(context, request):
    form = _reject_form(request, context)

    def refuse(data):
        return _service(request).reject(request.actor, context.application, data["reason"])

    outcome = submit(request, form, refuse)
    if outcome.failed:
        return _application_page(context, request, reject_html=outcome.form_html)
    flash(request, _("The application was rejected; the applicant sees the reason."))
    return HTTPSeeOther(request.resource_url(context))


@view_config(context=ReceiptResource, permission=P.SUPPORT_HANDLE, request_method="GET")
def receipt(context, request):
    """A receipt as a download (never shown inline, never cached): its type was checked
    from its content at upload."""
    found = context.receipt
    _service(request).record_receipt_view(request.actor, found)
    response = Response(body=found.data, content_type=found.media_type)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
    response.content_disposition = (
        f'attachment; filename="receipt-{found.application_id}-{found.id}.'
        f'{extension[found.media_type]}"')
    response.cache_control = "no-store"
    return response
