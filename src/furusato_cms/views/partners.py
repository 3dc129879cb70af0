"""The site admin's screens for partner organisations (関係団体) and their staff
(``site:partners:manage``). Rules are in ``services/partners.py``."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, refusal_status_of, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.activities import PartnerResource, PartnersContainer
from ..schemas.projects import PartnerInviteSchema, PartnerSchema
from ..services.errors import ServiceError
from ..services.invitations import invitation_path
from ..services.partners import DESIGNATION_LABELS, PARTNER_KIND_LABELS, PartnerService

FIELDS = ("name", "kind", "designation_pattern", "contact_email")


def _service(request) -> PartnerService:
    return request.service(PartnerService)


def _labels(**values) -> dict:
    return {"kinds": PARTNER_KIND_LABELS, "patterns": DESIGNATION_LABELS, **values}


@view_config(context=PartnersContainer, renderer="partners/list.jinja2",
             permission=P.PARTNER_MANAGE, request_method="GET")
def partner_list(context, request):
    service = _service(request)
    return _labels(partners=service.partners(context.site),
                   staff_counts=service.staff_counts(context.site))


def _partner_form(request, label):
    return make_form(request, PartnerSchema(), buttons=(button(request, "save", label),))


@view_config(context=PartnersContainer, name="new", renderer="partners/form.jinja2",
             permission=P.PARTNER_MANAGE, request_method="GET")
def new_partner(context, request):
    form = _partner_form(request, _("Register the organisation"))
    return {"partner": None, "form": form.render({"designation_pattern": "per_project"})}


@view_config(context=PartnersContainer, name="new", renderer="partners/form.jinja2",
             permission=P.PARTNER_MANAGE, request_method="POST")
def create_partner(context, request):
    def create(data):
        return _service(request).create(request.actor, context.site, **data)

    outcome = submit(request, _partner_form(request, _("Register the organisation")), create)
    if outcome.failed:
        return {"partner": None, "form": outcome.form_html}
    flash(request, _("The partner organisation was registered. Invite its staff next."))
    return HTTPSeeOther(request.resource_url(context, str(outcome.result.id), "edit"))


def _edit_page(context, request, form_html):
    service = _service(request)
    return _labels(partner=context.partner, form=form_html,
                   staff=service.staff(context.partner),
                   invitations=service.open_invitations(context.partner))


@view_config(context=PartnerResource, name="edit", renderer="partners/form.jinja2",
             permission=P.PARTNER_MANAGE, request_method="GET")
def edit_partner(context, request):
    form = _partner_form(request, _("Save"))
    current = {name: getattr(context.partner, name) for name in FIELDS}
    return _edit_page(context, request, form.render(current))


@view_config(context=PartnerResource, name="edit", renderer="partners/form.jinja2",
             permission=P.PARTNER_MANAGE, request_method="POST")
def save_partner(context, request):
    def save(data):
        _service(request).update(request.actor, context.partner, **data)

    outcome = submit(request, _partner_form(request, _("Save")), save)
    if outcome.failed:
        return _edit_page(context, request, outcome.form_html)
    flash(request, _("The partner organisation was saved."))
    return HTTPSeeOther(request.resource_url(context.__parent__))


@view_config(context=PartnerResource, name="retire", renderer="partners/retire.jinja2",
             permission=P.PARTNER_MANAGE, request_method="GET")
def retire_confirm(context, request):
    return _labels(partner=context.partner, staff=_service(request).staff(context.partner))


@view_config(context=PartnerResource, name="retire", renderer="partners/retire.jinja2",
             permission=P.PARTNER_MANAGE, request_method="POST")
def retire_submit(context, request):
    try:
        _service(request).retire(request.actor, context.partner)
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return _labels(partner=context.partner, staff=[], error=exc.message)
    flash(request, _("${name} was retired; its staff can no longer sign in to this site's "
                     "screens.", mapping={"name": context.partner.name}))
    return HTTPSeeOther(request.resource_url(context.__parent__))


def _invite_form(request):
    return make_form(request, PartnerInviteSchema(),
                     buttons=(button(request, "invite", _("Create the invitation")),))


@view_config(context=PartnerResource, name="invite", renderer="partners/invite.jinja2",
             permission=P.PARTNER_MANAGE, request_method="GET")
def invite_form(context, request):
    form = _invite_form(request)
    return {"partner": context.partner,
            "form": form.render({"email": context.partner.contact_email})}


@view_config(context=PartnerResource, name="invite", renderer="partners/invite.jinja2",
             permission=P.PARTNER_MANAGE, request_method="POST")
def invite_submit(context, request):
    """The link is shown in this response only, like every staff invitation."""
    def invite(data):
        return _service(request).invite(request.actor, context.partner, data["email"])

    outcome = submit(request, _invite_form(request), invite)
    if outcome.failed:
        return {"partner": context.partner, "form": outcome.form_html}
    invitation, token = outcome.result
    request.override_renderer = "partners/invited.jinja2"
    return {"partner": context.partner, "invitation": invitation,
            "invitation_url": request.application_url + invitation_path(token)}
