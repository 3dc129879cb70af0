"""Security headers on every response (ASVS V3/V14)."""

CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def security_headers_tween_factory(handler, registry):
    def tween(request):
        response = handler(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
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
