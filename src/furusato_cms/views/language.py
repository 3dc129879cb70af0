"""Switching between Japanese and English (a cookie; no account needed).

A plain link (GET): the choice only sets the visitor's own cookie and changes nothing on
the server, so it needs no CSRF token — and pages need no form for it, which keeps
anonymous pages free of sessions and cacheable (public_cache)."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..i18n import LOCALE_COOKIE, LOCALES
from ..permissions import Permissions as P
from ..resources import Root
from ..schemas.fields import local_path


def safe_return_path(request, candidate, default="/"):
    """Only same-site paths without control characters, so the parameter can neither
    send people elsewhere nor break the Location header."""
    return request.application_url + (local_path(candidate) or default)


@view_config(context=Root, name="language", request_method="GET", permission=P.VIEW)
def switch_language(request):
    lang = request.GET.get("lang")
    response = HTTPSeeOther(safe_return_path(request, request.GET.get("came_from")))
    response.cache_control.no_store = True
    if lang in LOCALES:
        response.set_cookie(
            LOCALE_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
            secure=request.app_settings.secure_cookies,
        )
    return response
