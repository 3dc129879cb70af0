"""Target and send a post (/s/{code}/posts/{slug}/target, 配信対象の指定と送信).

The editor chooses tiers, relationship types and interests and saves them; the page
then shows how many people the post reaches now (and how many by mail) and a send
button. Sending is the site's decision to write to its registrants, so it needs the
publish permission (site admins and reviewers), like publishing itself.
"""
import colander
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import ERROR_STATUS, CSRFSchema, button, flash, make_form, submit
from ..i18n import _
from ..interests import INTERESTS
from ..permissions import Permissions as P
from ..resources.content import PostResource
from ..services.errors import ServiceError
from ..services.notifications import NotificationService
from ..services.targeting import TargetingService
from ..vocabulary import RELATIONSHIP_TYPES, TIER_LABELS

RENDERER = "notifications/target.jinja2"


def _choices(request, labels):
    translate = request.localizer.translate
    return deform.widget.CheckboxChoiceWidget(
        values=[(str(key), translate(label)) for key, label in labels.items()]
    )


@colander.deferred
def _tiers_widget(node, kw):
    return _choices(kw["request"], TIER_LABELS)


@colander.deferred
def _types_widget(node, kw):
    return _choices(kw["request"], RELATIONSHIP_TYPES)


@colander.deferred
def _interests_widget(node, kw):
    return _choices(kw["request"], INTERESTS)


class TargetSchema(CSRFSchema):
    tiers = colander.SchemaNode(
        colander.Set(), title=_("Tier"), missing=(), widget=_tiers_widget,
        validator=colander.ContainsOnly(list(TIER_LABELS)),
        description=_("Leave all unticked to include every tier."))
    relationship_types = colander.SchemaNode(
        colander.Set(), title=_("Relationship type"), missing=(), widget=_types_widget,
        validator=colander.ContainsOnly([str(key) for key in RELATIONSHIP_TYPES]),
        description=_("Leave all unticked to include every type."))
    interests = colander.SchemaNode(
        colander.Set(), title=_("Interests"), missing=(), widget=_interests_widget,
        validator=colander.ContainsOnly(list(INTERESTS)),
        description=_("People who chose at least one of these. Leave all unticked to "
                      "include everyone."))


def _form(request):
    return make_form(request, TargetSchema(),
                     buttons=(button(request, "save", _("Save and count the people")),))


def _page(context, request, form_html, error=None):
    post = context.post
    service = request.service(TargetingService)
    campaign = service.campaign_of(post)
    return {
        "post": post,
        "form": form_html,
        "saved": service.saved_target(post) is not None,
        "reach": None if campaign else service.reach(post),
        "campaign": campaign,
        "progress": request.service(NotificationService).progress(campaign) if campaign else {},
        "visible": post.is_visible_at(request.clock()),
        "error": error,
    }


def _values(target) -> dict:
    return {"tiers": set(target.tiers), "interests": set(target.interests),
            "relationship_types": {str(t) for t in target.relationship_types}}


@view_config(context=PostResource, name="target", renderer=RENDERER, request_method="GET",
             permission=P.CONTENT_PUBLISH)
def target_page(context, request):
    target = request.service(TargetingService).target_of(context.post)
    return _page(context, request, _form(request).render(_values(target)))


@view_config(context=PostResource, name="target", renderer=RENDERER, request_method="POST",
             permission=P.CONTENT_PUBLISH)
def save_target(context, request):
    def save(values):
        request.service(TargetingService).save_target(
            request.actor, context.post, tiers=values["tiers"],
            relationship_types=[int(t) for t in values["relationship_types"]],
            interests=values["interests"])

    outcome = submit(request, _form(request), save)
    if outcome.failed:
        return _page(context, request, outcome.form_html)
    return HTTPSeeOther(request.resource_url(context, "target"))


@view_config(context=PostResource, name="target", renderer=RENDERER, request_method="POST",
             request_param="send", permission=P.CONTENT_PUBLISH)
def send(context, request):
    try:
        campaign = request.service(TargetingService).send(request.actor, context.post)
    except ServiceError as exc:
        request.response.status_int = ERROR_STATUS.get(type(exc), 400)
        target = request.service(TargetingService).target_of(context.post)
        return _page(context, request, _form(request).render(_values(target)), exc.message)
    flash(request, _("The post is on its way to ${n} people. Mails are sent in the "
                     "background.", mapping={"n": campaign.recipients}))
    return HTTPSeeOther(request.resource_url(context, "target"))
