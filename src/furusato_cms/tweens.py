"""Security headers on every response (ASVS V3/V14)."""

from urllib.parse import urlsplit

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


def security_headers_tween_factory(handler, registry):
    csp = content_security_policy(registry["app_settings"])

    def tween(request):
        response = handler(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "geolocation=(), microphone=()")
        if request.environ.get("furusato.identity") is not None or request.path.startswith(
            ("/operator", "/account", "/signin")
        ):
            headers["Cache-Control"] = "no-store"
        return response

    return tween
