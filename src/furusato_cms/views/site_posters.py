"""The site's registration poster, flyer and banner for 制度周知 (publicising the system):
``/s/{code}/poster.pdf`` (A4, ``?size=a3`` for A3), ``banner.png`` and ``banner.svg``.

Public like the site's page: a site in preparation (準備中) answers 404 except to its staff
(the site's ``__acl__``). Each carries a QR code to the site's registration page."""
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.response import Response
from pyramid.view import view_config

from ..i18n import _
from ..permissions import Permissions as P
from ..resources.site import SiteResource
from ..services import posters


def registration_url(request, site) -> str:
    """The absolute address of the site's registration page (the code's content)."""
    return f"{request.app_settings.base_url}/s/{site.code}/register"


def _file(request, body, content_type, filename, disposition="inline"):
    response = Response(body=body, content_type=content_type)
    response.content_disposition = f'{disposition}; filename="{filename}"'
    if request.context.site.is_public:
        response.cache_control.public = True
        response.cache_control.max_age = 3600
    else:
        response.cache_control = "no-store"
    return response


@view_config(context=SiteResource, name="poster.pdf", request_method="GET",
             permission=P.VIEW)
def poster_pdf(context, request):
    size = request.GET.get("size", "a4").lower()
    if size not in posters.PAGE_SIZES:
        raise HTTPBadRequest(_("The paper size must be a4 or a3."))
    body = posters.registration_poster_pdf(
        context.site, registration_url(request, context.site),
        translate=request.localizer.translate, size=size)
    return _file(request, body, "application/pdf",
                 f"furusato-{context.site.code}-{size}.pdf")


@view_config(context=SiteResource, name="banner.svg", request_method="GET",
             permission=P.VIEW)
def banner_svg(context, request):
    body = posters.registration_banner_svg(
        context.site, registration_url(request, context.site),
        translate=request.localizer.translate)
    return _file(request, body, "image/svg+xml", f"furusato-{context.site.code}.svg")


@view_config(context=SiteResource, name="banner.png", request_method="GET",
             permission=P.VIEW)
def banner_png(context, request):
    body = posters.registration_banner_png(
        context.site, registration_url(request, context.site),
        translate=request.localizer.translate)
    return _file(request, body, "image/png", f"furusato-{context.site.code}.png")
