"""The open API under /api/v1/: its OpenAPI document, errors as problem details
(RFC 9457) in the caller's language, and the reference page /api/docs.

``openapi/openapi.yaml`` is the single source of truth: pyramid_openapi3 registers a
route for each of its paths and validates every request and response against it, so the
document cannot drift from what the API does. Views only translate between the services
and the shapes the document names.
"""
import json
import logging
import os
import warnings
from functools import lru_cache

import yaml
from pyramid.i18n import TranslationString
from pyramid.httpexceptions import HTTPBadRequest, HTTPException
from pyramid.response import Response
from pyramid.view import (
    exception_view_config,
    forbidden_view_config,
    notfound_view_config,
    view_config,
)
from pyramid_openapi3 import RequestValidationError, ResponseValidationError

from ..i18n import _
from ..markup import render_markdown
from ..permissions import Permissions as P
from ..request_guard import BodyTooLarge
from ..services.oauth.scopes import scope_of_permission
from ..services.paging import BadCursor
from .oauth_api import InvalidToken, RateLimited

log = logging.getLogger(__name__)

SPEC_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "openapi", "openapi.yaml")
PREFIX = "/api/v1"
API_PATHS = r"^/api/"
PROBLEM_TYPE = "about:blank"


def includeme(config):
    # openapi-core does not check oauth2 security itself and warns on every request that
    # names it; the resources' ACLs and views/oauth_api.py check bearer tokens instead.
    warnings.filterwarnings("ignore", message="Unsupported scheme type",
                            module="openapi_core.security.providers")
    config.include("pyramid_openapi3")
    config.pyramid_openapi3_add_deserializer("application/problem+json", json.loads)
    config.pyramid_openapi3_spec(SPEC_PATH, route=PREFIX + "/openapi.yaml",
                                 route_name="api_spec_yaml")
    config.pyramid_openapi3_register_routes(route_prefix=PREFIX)
    config.add_route("api_spec", PREFIX + "/openapi.json")
    config.add_route("api_docs", "/api/docs")


@lru_cache(maxsize=1)
def spec() -> dict:
    with open(SPEC_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def problem(request, status: int, title, detail=None, errors=()) -> Response:
    """An ``application/problem+json`` answer; ``title`` and ``detail`` translated."""
    translate = request.localizer.translate
    body = {"type": PROBLEM_TYPE, "title": translate(title), "status": status,
            "instance": request.path}
    if detail is not None:
        body["detail"] = translate(detail)
    if errors:
        body["errors"] = list(errors)
    response = Response(json_body=body, status=status, content_type="application/problem+json",
                        charset="utf-8")
    response.headers["Content-Language"] = request.localizer.locale_name
    return response


@view_config(route_name="api_spec", request_method="GET", renderer="json", permission=P.VIEW,
             openapi=False)
def openapi_document(request):
    return spec()


@view_config(route_name="api_docs", request_method="GET", renderer="api/docs.jinja2",
             permission=P.VIEW, openapi=False)
def reference(request):
    """The reference, rendered here from the same document (no script, no CDN)."""
    document = spec()
    operations = [
        {**operation, "method": method.upper(), "path": PREFIX + path,
         "parameters": [_resolved(document, p) for p in operation.get("parameters", ())]}
        for path, item in document["paths"].items()
        for method, operation in item.items() if method in ("get", "post", "put", "delete")
    ]
    return {"api": document, "description": render_markdown(document["info"]["description"]),
            "operations": operations, "webhooks": _webhooks(document),
            "schemas": document["components"]["schemas"]}


def _webhooks(document) -> list:
    """Each event a site's endpoint receives: its type, what it means, the signing rules
    (the same for all) and the fields of its ``data``."""
    events = []
    for name, item in document.get("webhooks", {}).items():
        post = item["post"]
        body = post["requestBody"]["content"]["application/json"]["schema"]
        data = body["properties"]["data"]
        events.append({"name": name, "summary": post.get("summary", ""),
                       "description": render_markdown(post.get("description", "")),
                       "headers": [h["name"] for h in post.get("parameters", ())],
                       "fields": data.get("properties", {}),
                       "required": set(data.get("required", ()))})
    return events


def _resolved(document, item) -> dict:
    """A ``$ref`` within the document, followed."""
    reference = item.get("$ref")
    if reference is None:
        return item
    found = document
    for part in reference.removeprefix("#/").split("/"):
        found = found[part]
    return found


def _field_of(error) -> str | None:
    for attribute in ("name", "path"):
        value = getattr(error, attribute, None)
        if value:
            return str(value)
    cause = getattr(error, "__cause__", None)
    return _field_of(cause) if cause is not None and cause is not error else None


@exception_view_config(RequestValidationError, path_info=API_PATHS)
def invalid_request(exc, request):
    errors = [{"field": field, "message": request.localizer.translate(
        _("This value is not allowed here."))} if (field := _field_of(error)) else
        {"message": str(error)} for error in exc.errors]
    return problem(request, 400, _("The request has values that are not allowed"),
                   _("See `errors` for each parameter and the API reference at /api/docs."),
                   errors)


@exception_view_config(BadCursor, path_info=API_PATHS)
def bad_cursor(exc, request):
    return problem(request, 400, _("The cursor is not valid"),
                   _("Use the next_cursor of the previous page, unchanged."),
                   [{"field": "cursor", "message": request.localizer.translate(
                       _("This value is not allowed here."))}])


@notfound_view_config(path_info=API_PATHS)
def not_found(request):
    """No route, or a view that found no such public item (its HTTPNotFound may say
    which, as a translation string)."""
    detail = getattr(request.exception, "detail", None)
    return problem(request, 404, _("Not found"), detail if isinstance(detail, TranslationString)
                   else _("There is no public item at this address."))


def _bearer_challenge(response, **params) -> Response:
    """``WWW-Authenticate: Bearer`` (RFC 6750 §3) with its parameters."""
    values = ", ".join(f'{key}="{value}"' for key, value in params.items())
    response.headers["WWW-Authenticate"] = 'Bearer realm="furusato"' + (
        ", " + values if values else "")
    return response


@exception_view_config(InvalidToken, path_info=API_PATHS)
def invalid_token(request):
    return _bearer_challenge(
        problem(request, 401, _("The access token is not valid"),
                _("It is unknown, expired or revoked, or its app was suspended. Get a new "
                  "one (refresh it, or ask the person to sign in again).")),
        error="invalid_token")


@exception_view_config(RateLimited, path_info=API_PATHS)
def rate_limited(exc, request):
    response = problem(request, 429, _("Too many requests"),
                       _("This app sent more requests than its limit allows. Wait for the "
                         "number of seconds in Retry-After and try again."))
    response.headers["Retry-After"] = str(exc.decision.retry_after)
    return response


@forbidden_view_config(path_info=API_PATHS)
def api_forbidden(exc, request):
    """No token: 401 asking for one. A token without the scope the operation needs: 403
    ``insufficient_scope`` naming it. A token with the scope for another site: 403."""
    grant = request.api_grant
    if grant is None:
        if request.environ.get("furusato.bearer_given"):
            return invalid_token(request)
        return _bearer_challenge(problem(
            request, 401, _("Sign-in required"),
            _("This operation needs an OAuth 2.0 access token (Authorization: Bearer). "
              "See the API reference at /api/docs.")))
    needed = scope_of_permission(getattr(getattr(exc, "result", None), "permission", None))
    if needed is not None and needed not in grant.scopes:
        return _bearer_challenge(problem(
            request, 403, _("The access token lacks a scope"),
            _("This operation needs the scope `${scope}`. Ask the person (or the "
              "operator of your client) for it.", mapping={"scope": needed})),
            error="insufficient_scope", scope=needed)
    return problem(request, 403, _("Not allowed"),
                   _("This access token may not use this operation here."))


@exception_view_config(HTTPBadRequest, path_info=API_PATHS)
@exception_view_config(BodyTooLarge, path_info=API_PATHS)
def refused_input(exc, request):
    """What the request guard refuses before any view (control characters, bodies too
    large) answers as problem details here too, not as the HTML error page."""
    detail = getattr(exc, "message", None) or exc.detail
    return problem(request, exc.status_int, exc.title,
                   detail if isinstance(detail, TranslationString) else None)


@exception_view_config(HTTPException, path_info=API_PATHS)
def http_problem(exc, request):
    return problem(request, exc.status_int, exc.title)


@exception_view_config(ResponseValidationError, path_info=API_PATHS)
@exception_view_config(Exception, path_info=API_PATHS)
def server_problem(exc, request):
    log.exception("unhandled API error on %s %s", request.method, request.path)
    return problem(request, 500, _("Something went wrong on our side"),
                   _("The error has been logged. Please try again later."))
