"""Security headers on every response (ASVS V3/V14), error pages included.

The tween is the outermost one, so whatever pyramid_tm, the page cache or the exception
views answer passes through it; an error that escapes all of them (a failing exception
view, a COMMIT that fails after the view) is answered here as a plain page with the same
headers instead of waitress's bare 500. Retryable errors are left to pyramid_retry."""
import logging
import sys
from urllib.parse import urlsplit

from pyramid.response import Response
from pyramid_retry import is_error_retryable

from .models import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
"""What a 503 asks clients and load balancers to wait before trying again."""

CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def content_security_policy(settings) -> str:
    """The policy, with the identity provider allowed as a form target: starting My Number
    Card verification is a form POST answered by a redirect to the provider, and browsers
    apply form-action to where the redirect leads."""
    if not settings.oidc_issuer:
        return CSP
    parts = urlsplit(settings.oidc_issuer)
    return f"{CSP} {parts.scheme}://{parts.netloc}"


def last_resort_response(request, exc_info) -> Response:
    """The site's error page when an exception view can still render it, else plain text:
    503 with Retry-After when the database is the cause, 500 otherwise."""
    try:
        return request.invoke_exception_view(exc_info)
    except Exception:  # noqa: BLE001 - the error page itself failed; answer without it
        log.exception("error page failed on %s %s", request.method, request.path)
    if isinstance(exc_info[1], DATABASE_UNAVAILABLE):
        response = Response("Service temporarily unavailable. Please try again shortly.\n",
                            status=503, content_type="text/plain", charset="utf-8")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    else:
        response = Response("Something went wrong. Please try again later.\n",
                            status=500, content_type="text/plain", charset="utf-8")
    response.cache_control.no_store = True
    return response


def security_headers_tween_factory(handler, registry):
    settings = registry["app_settings"]
    csp = content_security_policy(settings)
    hsts = (f"max-age={settings.hsts_seconds}; includeSubDomains"
            if settings.hsts_seconds > 0 else None)

    def tween(request):
        try:
            response = handler(request)
        except Exception as exc:
            if is_error_retryable(request, exc):
                raise
            response = last_resort_response(request, sys.exc_info())
        headers = response.headers
        if hsts:
            headers.setdefault("Strict-Transport-Security", hsts)
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "geolocation=(), microphone=()")
        if request.environ.get("furusato.identity") is not None or request.path_info.startswith(
            ("/operator", "/account", "/signin")
        ):
            headers["Cache-Control"] = "no-store"
        return response

    return tween
