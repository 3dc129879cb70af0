"""What visitors and registrants see of support measures (サポート施策): the site's list
of measures and partner offers, a measure's page with who may apply, the application
form (/s/{code}/support/{id}/apply), an offer's page, and the registrant's own
applications (/my/support).

A measure or offer is public while published and inside its dates on an active site
(the resource's ACL); applying needs a registrant account (``site:support:apply``);
whether this person may apply now is the service's decision, shown before the form.
"""
import secrets

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..markup import render_markdown
from ..permissions import Permissions as P
from ..resources.my import MyArea
from ..resources.support import MeasureResource, OfferResource, SupportContainer
from ..schemas.support import answers_of, application_schema, cost_lines, receipt_files
from ..services.support import (
    APPLICANT_LABELS,
    APPLICATION_STATE_LABELS,
    CAP_UNIT_LABELS,
    FAMILY_LABELS,
    GROUP_LABELS,
    OFFER_KIND_LABELS,
    SupportService,
    family_group,
)
from ..services.support_rules import (
    Payable,
    Upload,
    yen,
)


def labels(**values) -> dict:
    """What the support templates use to name things."""
    return {"families": FAMILY_LABELS, "groups": GROUP_LABELS, "applicant_labels":
            APPLICANT_LABELS, "cap_units": CAP_UNIT_LABELS, "offer_kinds": OFFER_KIND_LABELS,
            "application_states": APPLICATION_STATE_LABELS, "yen": yen,
            "family_group": family_group, "payable_of": Payable.from_record, **values}


def _registrant(request):
    identity = request.identity
    if identity is None or identity.account.kind != "registrant":
        return None
    return identity.account


@view_config(context=SupportContainer, renderer="support/list.jinja2", permission=P.VIEW,
             request_method="GET")
def support_list(context, request):
    service = request.service(SupportService)
    measures = service.public_measures(context.site)
    grouped = {name: [m for m in measures if family_group(m.family) == name]
               for name in GROUP_LABELS}
    return labels(grouped=grouped, offers=service.public_offers(context.site))


@view_config(context=MeasureResource, renderer="support/measure.jinja2", permission=P.VIEW,
             request_method="GET")
def measure_page(context, request):
    account = _registrant(request)
    eligibility = (request.service(SupportService).who_may_apply(account, context.measure)
                   if account is not None else None)
    return labels(measure=context.measure, body_html=render_markdown(context.measure.body),
                  eligibility=eligibility,
                  may_edit=bool(request.has_permission(P.SUPPORT_EDIT, context)))


def _apply_form(request, measure):
    return make_form(request, application_schema(measure),
                     buttons=(button(request, "apply", _("Send the application")),))


def _apply_page(context, request, form_html=None):
    eligibility = request.service(SupportService).who_may_apply(request.identity.account,
                                                                context.measure)
    if form_html is None and eligibility.allowed:
        form_html = _apply_form(request, context.measure).render(
            {"request_token": secrets.token_urlsafe(32)})
    return labels(measure=context.measure, eligibility=eligibility, form=form_html,
                  max_mb=round(request.app_settings.upload_max_bytes / 1024 / 1024, 1))


@view_config(context=MeasureResource, name="apply", renderer="support/apply.jinja2",
             permission=P.SUPPORT_APPLY, request_method="GET")
def apply_form(context, request):
    return _apply_page(context, request)


@view_config(context=MeasureResource, name="apply", renderer="support/apply.jinja2",
             permission=P.SUPPORT_APPLY, request_method="POST")
def apply_submit(context, request):
    measure = context.measure
    limit = request.app_settings.upload_max_bytes

    def apply(data):
        # One byte past the limit is enough for the service to refuse a file too large.
        receipts = [Upload(f.get("filename", ""), f["fp"].read(limit + 1))
                    for f in receipt_files(data)]
        return request.service(SupportService).apply(
            request.identity.account, measure, answers=answers_of(measure, data),
            costs=cost_lines(data), receipts=receipts, request_token=data["request_token"])

    outcome = submit(request, _apply_form(request, measure), apply)
    if outcome.failed:
        return _apply_page(context, request, outcome.form_html)
    flash(request, _("Your application was sent. The amount computed from your costs is "
                     "${amount} yen; the site checks it and decides.",
                     mapping={"amount": yen(outcome.result.submitted_amount)}))
    return HTTPSeeOther(
        f"{request.application_url}/my/support#application-{outcome.result.id}")


@view_config(context=OfferResource, renderer="support/offer.jinja2", permission=P.VIEW,
             request_method="GET")
def offer_page(context, request):
    return labels(offer=context.offer, body_html=render_markdown(context.offer.body),
                  may_edit=bool(request.has_permission(P.SUPPORT_EDIT, context)))


@view_config(context=MyArea, name="support", renderer="support/my.jinja2",
             permission=P.REGISTRANT_SELF, request_method="GET")
def my_support(request):
    applications = request.service(SupportService).applications_of(request.identity.account)
    return labels(applications=applications)
