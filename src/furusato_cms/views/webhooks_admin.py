"""The site admin's webhook screens (/s/{code}/webhooks/): endpoints, their secrets
(shown once), the delivery log and replays. Rules live in services/webhooks."""
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.webhooks import DeliveryResource, EndpointResource, WebhooksContainer
from ..schemas.webhooks import EndpointSchema
from ..services.errors import ServiceError
from ..services.webhooks.endpoints import LOG_PAGE
from ..services.webhooks import (
    EVENT_LABELS,
    MAX_ATTEMPTS,
    STATE_LABELS,
    WebhookEndpoints,
    webhook_settings,
)


def _service(request) -> WebhookEndpoints:
    return WebhookEndpoints(request.dbsession, clock=request.clock,
                            settings=request.app_settings,
                            options=webhook_settings(request.registry))


def _url(request, site, *path) -> str:
    return "/".join([request.application_url, "s", site.code, "webhooks", *path])


def _form(request, title):
    return make_form(request, EndpointSchema(), buttons=(button(request, "save", title),))


def _secret_page(request, site, endpoint, secret, rotated):
    """The secret in this answer only: never stored by a cache, never shown again."""
    request.response.cache_control = "no-store"
    request.override_renderer = "webhooks/secret.jinja2"
    return {"endpoint": endpoint, "secret": secret, "rotated": rotated,
            "endpoint_url": _url(request, site, str(endpoint.id), "")}


@view_config(context=WebhooksContainer, renderer="webhooks/endpoints.jinja2",
             permission=P.WEBHOOKS_MANAGE, request_method="GET")
def endpoints(context, request):
    return {"endpoints": _service(request).endpoints_of(context.site),
            "event_labels": EVENT_LABELS}


@view_config(context=WebhooksContainer, name="new", renderer="webhooks/form.jinja2",
             permission=P.WEBHOOKS_MANAGE, request_method="GET")
def new_form(context, request):
    form = _form(request, _("Add the endpoint"))
    return {"form": form.render({"event_types": ()}), "endpoint": None}


@view_config(context=WebhooksContainer, name="new", renderer="webhooks/form.jinja2",
             permission=P.WEBHOOKS_MANAGE, request_method="POST")
def new_submit(context, request):
    def create(values):
        return _service(request).create(request.actor, context.site, **values)

    outcome = submit(request, _form(request, _("Add the endpoint")), create,
                     refusal_status=400)
    if outcome.failed:
        return {"form": outcome.form_html, "endpoint": None}
    endpoint, secret = outcome.result
    return _secret_page(request, context.site, endpoint, secret, rotated=False)


@view_config(context=EndpointResource, renderer="webhooks/endpoint.jinja2",
             permission=P.WEBHOOKS_MANAGE, request_method="GET")
def endpoint_page(context, request):
    before = request.GET.get("before", "")
    before_id = int(before) if before.isascii() and before.isdigit() and len(before) < 10 \
        else None
    service = _service(request)
    deliveries = service.deliveries(context.endpoint, before_id)
    return {"endpoint": context.endpoint, "deliveries": deliveries,
            "more": len(deliveries) == LOG_PAGE and deliveries[-1].id,
            "event_labels": EVENT_LABELS, "state_labels": STATE_LABELS,
            "max_attempts": MAX_ATTEMPTS}


@view_config(context=EndpointResource, name="edit", renderer="webhooks/form.jinja2",
             permission=P.WEBHOOKS_MANAGE, request_method="GET")
def edit_form(context, request):
    endpoint = context.endpoint
    form = _form(request, _("Save"))
    return {"endpoint": endpoint, "form": form.render({
        "url": endpoint.url, "description": endpoint.description,
        "event_types": tuple(endpoint.event_types)})}


@view_config(context=EndpointResource, name="edit", renderer="webhooks/form.jinja2",
             permission=P.WEBHOOKS_MANAGE, request_method="POST")
def edit_submit(context, request):
    def save(values):
        _service(request).update(request.actor, context.endpoint, **values)

    outcome = submit(request, _form(request, _("Save")), save, refusal_status=400)
    if outcome.failed:
        return {"endpoint": context.endpoint, "form": outcome.form_html}
    flash(request, _("The endpoint was saved."))
    return HTTPSeeOther(_url(request, context.site, str(context.endpoint.id), ""))


@view_config(context=EndpointResource, name="enabled", permission=P.WEBHOOKS_MANAGE,
             request_method="POST")
def enabled_submit(context, request):
    flag = request.POST.get("enabled")
    if flag not in ("0", "1"):
        raise HTTPBadRequest(request.localizer.translate(
            _("Choose whether the endpoint receives events.")))
    try:
        _service(request).set_enabled(request.actor, context.endpoint, flag == "1")
    except ServiceError as exc:
        raise HTTPBadRequest(request.localizer.translate(exc.message)) from exc
    flash(request, _("The endpoint receives events again.") if flag == "1"
          else _("The endpoint was disabled: it receives nothing until you enable it."))
    return HTTPSeeOther(_url(request, context.site, str(context.endpoint.id), ""))


@view_config(context=EndpointResource, name="rotate", renderer="webhooks/secret.jinja2",
             permission=P.WEBHOOKS_MANAGE, request_method="POST")
def rotate_submit(context, request):
    secret = _service(request).rotate(request.actor, context.endpoint)
    return _secret_page(request, context.site, context.endpoint, secret, rotated=True)


@view_config(context=DeliveryResource, renderer="webhooks/delivery.jinja2",
             permission=P.WEBHOOKS_MANAGE, request_method="GET")
def delivery_page(context, request):
    return {"delivery": context.delivery, "endpoint": context.__parent__.endpoint,
            "attempts": _service(request).attempts_of(context.delivery),
            "event_labels": EVENT_LABELS, "state_labels": STATE_LABELS}


@view_config(context=DeliveryResource, name="replay", permission=P.WEBHOOKS_MANAGE,
             request_method="POST")
def replay_submit(context, request):
    try:
        _service(request).replay(request.actor, context.delivery)
    except ServiceError as exc:
        raise HTTPBadRequest(request.localizer.translate(exc.message)) from exc
    flash(request, _("The delivery will be sent again shortly, with the same webhook-id."))
    return HTTPSeeOther(_url(request, context.site, str(context.delivery.endpoint_id),
                             str(context.delivery.id)))
