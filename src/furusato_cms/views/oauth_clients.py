"""Registering apps (API clients): the operator's national apps (/operator/clients/) and
a site admin's apps of their site (/s/{code}/clients/). A new secret is shown once, on the
answer to the form that made it, and never again (only its hash is kept); the answer is
not cached."""
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.oauth import ClientResource, ClientsContainer
from ..schemas.oauth import ClientSchema, redirect_uri_lines
from ..services.errors import ServiceError
from ..services.oauth.clients import AUTH_METHOD_LABELS, KIND_LABELS, ClientService
from ..services.oauth.scopes import SCOPES

LABELS = {"kinds": KIND_LABELS, "auth_methods": AUTH_METHOD_LABELS, "all_scopes": SCOPES}


def _form(request, context):
    return make_form(request, ClientSchema(), for_site=context.site is not None,
                     buttons=(button(request, "register", _("Register the app")),),
                     action=request.resource_url(context))


def _listing(request, context, form_html):
    return {"clients": request.service(ClientService).clients(
        context.site.id if context.site is not None else None),
        "form": form_html, **LABELS}


def _secret_page(request, client, secret, title):
    request.response.cache_control.no_store = True
    request.override_renderer = "oauth/secret.jinja2"
    return {"client": client, "secret": secret, "title": title,
            "client_url": request.resource_url(request.context, client.client_id)
            if isinstance(request.context, ClientsContainer)
            else request.resource_url(request.context)}


@view_config(context=ClientsContainer, request_method="GET", renderer="oauth/clients.jinja2",
             permission=P.OAUTH_CLIENTS_MANAGE)
def clients(context, request):
    return _listing(request, context, _form(request, context).render(
        {"kind": "public", "auth_method": "none"}))


@view_config(context=ClientsContainer, request_method="POST", renderer="oauth/clients.jinja2",
             permission=P.OAUTH_CLIENTS_MANAGE)
def register(context, request):
    def action(values):
        return request.service(ClientService).register(
            request.actor, site=context.site, name=values["name"],
            owner_name=values["owner_name"], kind=values["kind"],
            auth_method=values["auth_method"],
            redirect_uris=redirect_uri_lines(values["redirect_uris"]),
            scopes=sorted(values["scopes"]), jwks=values["jwks"])

    outcome = submit(request, _form(request, context), action)
    if outcome.failed:
        return _listing(request, context, outcome.form_html)
    registered = outcome.result
    return _secret_page(request, registered.client, registered.secret,
                        _("The app is registered"))


@view_config(context=ClientResource, request_method="GET", renderer="oauth/client.jinja2",
             permission=P.OAUTH_CLIENTS_MANAGE)
def client_detail(context, request):
    return {"client": context.client, "container_url": request.resource_url(context.__parent__),
            **LABELS}


@view_config(context=ClientResource, name="rotate", request_method="POST",
             renderer="oauth/secret.jinja2", permission=P.OAUTH_CLIENTS_MANAGE)
def rotate_secret(context, request):
    try:
        secret = request.service(ClientService).rotate_secret(request.actor, context.client)
    except ServiceError as exc:
        raise HTTPBadRequest(exc.message) from None
    return _secret_page(request, context.client, secret, _("A new secret"))


@view_config(context=ClientResource, name="suspend", request_method="POST",
             permission=P.OAUTH_CLIENTS_MANAGE)
@view_config(context=ClientResource, name="resume", request_method="POST",
             permission=P.OAUTH_CLIENTS_MANAGE)
def suspend_or_resume(context, request):
    suspend = request.view_name == "suspend"
    request.service(ClientService).set_suspended(request.actor, context.client, suspend)
    flash(request, _("The app is suspended: it gets no tokens and its tokens stop working.")
          if suspend else _("The app works again."))
    return HTTPSeeOther(request.resource_url(context))
