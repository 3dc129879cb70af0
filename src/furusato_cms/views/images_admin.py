"""Uploading images for the site's texts: /s/{code}/images/upload.

After an upload the page shows the Markdown line to paste into a text; the public
image itself is served by ``views/public.py``.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.content import ImagesContainer
from ..schemas.content import ImageUploadSchema
from ..services.images import ImageService, markdown_snippet

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
    limit = request.app_settings.upload_max_bytes

    def store(data):
        upload_data = data["upload"]
        # Read one byte past the limit: enough for the service to refuse, never the whole file.
        content = upload_data["fp"].read(limit + 1)
        return request.service(ImageService).upload(
            request.actor, context.site, upload_data.get("filename", ""), content,
            data["alt_text"],
        )

    outcome = submit(request, _form(request), store)
    if outcome.failed:
        return _page(context, request, outcome.form_html)
    flash(request, _("The image was uploaded."))
    return HTTPSeeOther(
        request.resource_url(context, "upload", query={"added": outcome.result.id})
    )
