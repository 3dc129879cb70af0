"""Switching between Japanese and English (a cookie; no account needed)."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..i18n import LOCALE_COOKIE, LOCALES
from ..permissions import Permissions as P
from ..resources import Root


def safe_return_path(request, candidate, default="/"):
    """Only same-site paths, so the parameter cannot send people elsewhere."""
    if candidate and candidate.startswith("/") and not candidate.startswith("//"):
        return request.application_url + candidate
    return request.application_url + default


@view_config(context=Root, name="language", request_method="POST", permission=P.VIEW)
def switch_language(request):
    lang = request.POST.get("lang")
    response = HTTPSeeOther(safe_return_path(request, request.POST.get("came_from")))
    if lang in LOCALES:
        response.set_cookie(
            LOCALE_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
            secure=request.app_settings.secure_cookies,
        )
    return response
