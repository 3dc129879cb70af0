"""The site's look (/s/{code}/branding): its admin uploads a logo and a header image and
picks an accent colour; /s/{code}/brand.css carries the colour to every page of the site
(the CSP allows no inline styles)."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.site import SiteResource
from ..schemas.site_branding import SiteBrandingSchema
from ..services.site_branding import SiteBrandingService

BRAND_CSS_MAX_AGE = 86400
"""The stylesheet's address carries the colour (?c=…), so a new colour is a new address."""


def _form(request):
    return make_form(request, SiteBrandingSchema(),
                     buttons=(button(request, "save", _("Save")),))


def _page(context, request, form_html):
    site = context.site
    return {"form": form_html, "site_url": f"{request.application_url}/s/{site.code}/"}


@view_config(context=SiteResource, name="branding", renderer="site_admin/branding.jinja2",
             permission=P.SITE_SETTINGS, request_method="GET")
def branding_form(context, request):
    values = request.service(SiteBrandingService).current(context.site)
    return _page(context, request, _form(request).render({"accent_color": values["accent_color"]}))


def _upload(request, value):
    """``(filename, bytes)`` of an uploaded file, read one byte past the limit (enough for
    the image service to refuse it, never the whole of a huge file), or None."""
    if not value or not value.get("fp"):
        return None
    return value.get("filename", ""), value["fp"].read(request.app_settings.upload_max_bytes + 1)


@view_config(context=SiteResource, name="branding", renderer="site_admin/branding.jinja2",
             permission=P.SITE_SETTINGS, request_method="POST")
def branding_save(context, request):
    def save(values):
        return request.service(SiteBrandingService).update(
            request.actor, context.site, accent_color=values["accent_color"],
            logo=_upload(request, values["logo"]),
            header_image=_upload(request, values["header_image"]),
            header_alt=values["header_alt"], remove_logo=values["remove_logo"],
            remove_header_image=values["remove_header_image"])

    outcome = submit(request, _form(request), save, refusal_status=400)
    if outcome.failed:
        return _page(context, request, outcome.form_html)
    flash(request, _("The look of the site was saved."))
    return HTTPSeeOther(f"{request.application_url}/s/{context.site.code}/branding")


@view_config(context=SiteResource, name="brand.css", permission=P.VIEW, request_method="GET")
def brand_css(context, request):
    """The accent colour as the theme's brand colour (checked for contrast when saved)."""
    colour = context.site.accent_color
    body = (f":root {{ --color-brand: {colour}; --color-brand-text: #ffffff; }}\n"
            if colour else "")
    response = Response(body, content_type="text/css", charset="utf-8")
    response.cache_control.public = True
    response.cache_control.max_age = BRAND_CSS_MAX_AGE
    return response
