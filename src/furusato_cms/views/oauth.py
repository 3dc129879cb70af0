"""The authorization server's endpoints: the consent screen (/oauth/authorize), the token
endpoint (/oauth/token), revocation (/oauth/revoke, RFC 7009) and the metadata
(/.well-known/oauth-authorization-server, RFC 8414).

The protocol is Authlib's (``services/oauth/server.py``); this module is the small
Pyramid adapter Authlib's framework integrations (Flask, Django) would otherwise be: it
turns a Pyramid request into Authlib's ``OAuth2Request`` and Authlib's
``(status, body, headers)`` into a Pyramid response. Token and revocation requests come
from apps, not from a browser form, so they carry no CSRF token (``require_csrf=False``);
the consent form does.
"""
from collections import defaultdict
from functools import cached_property
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import OAuth2Error, OAuth2Payload, OAuth2Request
from pyramid.response import Response
from pyramid.view import view_config

from ..i18n import _
from ..permissions import Permissions as P
from ..resources.oauth import OAuthArea, WellKnown
from ..services.oauth.consents import ConsentService
from ..services.oauth.scopes import SCOPES, scope_list
from ..services.oauth.server import FurusatoAuthorizationServer


class PyramidPayload(OAuth2Payload):
    """The query and form parameters of a Pyramid request (form values win)."""

    def __init__(self, request):
        self._request = request

    @cached_property
    def data(self):
        return {**self._request.GET, **self._request.POST}

    @cached_property
    def datalist(self):
        values = defaultdict(list)
        for source in (self._request.GET, self._request.POST):
            for key, value in source.items():
                values[key].append(value)
        return values


class PyramidOAuth2Request(OAuth2Request):
    """Authlib's view of a Pyramid request, at the service's public address."""

    def __init__(self, request):
        super().__init__(request.method, request.app_settings.base_url + request.path_qs,
                         headers=request.headers)
        self.payload = PyramidPayload(request)
        self._request = request

    @property
    def args(self):
        return self._request.GET

    @property
    def form(self):
        return self._request.POST


class PyramidAuthorizationServer(FurusatoAuthorizationServer):
    def create_oauth2_request(self, request):
        return request if isinstance(request, OAuth2Request) else PyramidOAuth2Request(request)

    def create_json_request(self, request):
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status, body, headers):
        response = Response(status=status, headers=dict(headers))
        if isinstance(body, dict):
            response.json_body = body
            response.content_type = "application/json"
        else:
            response.text = body or ""
        return response

    def send_signal(self, name, *args, **kwargs):
        """No signals: what needs recording is recorded by the services."""


def authorization_server(request) -> PyramidAuthorizationServer:
    return request.service(PyramidAuthorizationServer)


def _invalid_request(request):
    """Authlib refuses to put some characters a caller sent (e.g. bidi controls) into an
    error description and raises ValueError: still a bad request, said plainly."""
    return Response(status=400, json_body={"error": "invalid_request"},
                    headers={"Cache-Control": "no-store"})


@view_config(context=WellKnown, name="oauth-authorization-server", request_method="GET",
             renderer="json", permission=P.VIEW)
def metadata(request):
    return authorization_server(request).metadata()


@view_config(context=OAuthArea, name="token", request_method="POST", permission=P.VIEW,
             require_csrf=False)
def token(request):
    try:
        return authorization_server(request).create_token_response(request)
    except ValueError:
        return _invalid_request(request)


@view_config(context=OAuthArea, name="revoke", request_method="POST", permission=P.VIEW,
             require_csrf=False)
def revoke(request):
    try:
        return authorization_server(request).create_endpoint_response("revocation", request)
    except ValueError:
        return _invalid_request(request)


@view_config(context=OAuthArea, name="authorize", request_method=("GET", "POST"),
             renderer="oauth/consent.jinja2", permission=P.REGISTRANT_SELF)
def authorize(request):
    """Ask the signed-in person whether the app may act for them (GET), and send their
    answer back to the app (POST, with CSRF). An app asking only for what the person
    allowed before gets its code at once. A request whose app or redirect URI is not
    right is answered here, never by redirecting to an address we cannot trust."""
    server = authorization_server(request)
    account = request.identity.account
    try:
        grant = server.get_consent_grant(request, end_user=account)
    except OAuth2Error as error:
        if error.redirect_uri:
            return server.handle_error_response(request, error)
        return _refused(request, error.error, error.description)
    except ValueError:
        return _refused(request, "invalid_request", "")
    client = grant.client.row
    consents = request.service(ConsentService)
    if request.method == "POST":
        if "approve" not in request.POST:
            return server.create_authorization_response(grant.request, None, grant)
        consents.grant(account, client, grant.request.scope)
        return server.create_authorization_response(grant.request, account, grant)
    if consents.covers(account, client, grant.request.scope):
        return server.create_authorization_response(grant.request, account, grant)
    back = urlsplit(grant.redirect_uri)
    return {"client": client, "scopes": [SCOPES[name] for name in scope_list(grant.request.scope)],
            "action": request.path_qs, "return_to": back.netloc or back.scheme + ":"}


def _refused(request, error, description):
    request.response.status_int = 400
    request.override_renderer = "oauth/refused.jinja2"
    return {"error": error, "description": description or "",
            "message": request.localizer.translate(_(
                "This app's request cannot be accepted. Please tell the app's provider; "
                "nothing was shared."))}
