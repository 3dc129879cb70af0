"""Uploading images for the site's texts: /s/{code}/images/upload.

After an upload the page shows the Markdown line to paste into a text; the public
image itself is served by ``views/public.py``.
"""
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import make_form, show_error, validate
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.content import ImagesContainer
from ..schemas.content import ImageUploadSchema
from ..services.errors import ServiceError
from ..services.images import ImageService, markdown_snippet
from .content_admin import button, error_status, flash

RENDERER = "content_admin/images.jinja2"


def _form(request):
    return make_form(request, ImageUploadSchema(),
                     buttons=(button(request, "submit", _("Upload")),))


def _page(context, request, form_html):
    images = request.service(ImageService).for_site(context.site)
    added = request.GET.get("added", "")
    just_added = next((i for i in images if str(i.id) == added), None)
    return {
        "form": form_html,
        "images": images,
        "just_added": just_added,
        "snippet": markdown_snippet(context.site.code, just_added) if just_added else "",
        "snippets": {i.id: markdown_snippet(context.site.code, i) for i in images},
        "max_mb": round(request.app_settings.upload_max_bytes / 1024 / 1024, 1),
        "max_width": request.app_settings.image_max_width,
    }


@view_config(context=ImagesContainer, name="upload", renderer=RENDERER,
             permission=P.CONTENT_EDIT, request_method="GET")
def upload_form(context, request):
    return _page(context, request, _form(request).render())


@view_config(context=ImagesContainer, name="upload", renderer=RENDERER,
             permission=P.CONTENT_EDIT, request_method="POST")
def upload(context, request):
    form = _form(request)
    limit = request.app_settings.upload_max_bytes
    try:
        data = validate(request, form)
        upload_data = data["upload"]
        # Read one byte past the limit: enough for the service to refuse, never the whole file.
        content = upload_data["fp"].read(limit + 1)
        image = request.service(ImageService).upload(
            request.actor, context.site, upload_data.get("filename", ""), content,
            data["alt_text"],
        )
    except deform.ValidationFailure as e:
        request.response.status_int = 400
        return _page(context, request, e.render())
    except ServiceError as exc:
        request.response.status_int = error_status(exc)
        return _page(context, request, show_error(form, exc.message, exc.field))
    flash(request, _("The image was uploaded."))
    return HTTPSeeOther(request.resource_url(context, "upload", query={"added": image.id}))
