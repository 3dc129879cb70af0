"""What the editing screens share: labels, the publish check, versions of any content item.

The screens themselves are in ``intro_admin.py``, ``posts_admin.py`` and
``images_admin.py``; versions work the same for the introduction page and posts,
so their views live here.
"""
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..interests import INTERESTS, POST_KIND_LABELS
from ..markup import render_markdown
from ..permissions import Permissions as P
from ..resources.content import VersionResource, VersionsResource
from ..schemas.content import RestoreSchema
from ..services.publishing import STATE_LABELS, PublishingService


def may_publish(request, context) -> bool:
    """Site admins and editors with the reviewer flag (公開承認者) hold this permission."""
    return bool(request.has_permission(P.CONTENT_PUBLISH, context))


def common(**values) -> dict:
    """Labels every editing template uses."""
    return {"states": STATE_LABELS, "kinds": POST_KIND_LABELS, "interests": INTERESTS,
            **values}


def edit_url(request, versions_context) -> str:
    return request.resource_url(versions_context.__parent__, "edit")


@view_config(context=VersionsResource, renderer="content_admin/versions.jinja2",
             permission=P.CONTENT_EDIT, request_method="GET")
def version_list(context, request):
    number = request.GET.get("n")
    if number is not None:
        if not (number.isascii() and number.isdigit()):
            raise HTTPBadRequest(_("The version number must be a whole number."))
        return HTTPSeeOther(request.resource_url(context, number))
    versions = request.service(PublishingService).versions(context.item)
    return common(item=context.item, versions=versions, edit_url=edit_url(request, context))


def _version_page(context, request, form):
    version = context.version
    return common(
        item=context.item, version=version, body_html=render_markdown(version.body),
        form=form, is_current=version.number == context.item.version,
        edit_url=edit_url(request, context.__parent__),
        versions_url=request.resource_url(context.__parent__),
    )


def _restore_form(request, context):
    return make_form(request, RestoreSchema(),
                     buttons=(button(request, "restore", _("Restore this version")),))


@view_config(context=VersionResource, renderer="content_admin/version.jinja2",
             permission=P.CONTENT_EDIT, request_method="GET")
def version_view(context, request):
    form = _restore_form(request, context)
    return _version_page(context, request,
                         form.render({"expected_version": context.item.version}))


@view_config(context=VersionResource, renderer="content_admin/version.jinja2",
             permission=P.CONTENT_EDIT, request_method="POST")
def version_restore(context, request):
    """Restoring saves a new version equal to this one; nothing is rewritten."""
    def restore(values):
        request.service(PublishingService).restore(
            request.actor, context.item, context.version.number,
            expected_version=values["expected_version"],
        )

    outcome = submit(request, _restore_form(request, context), restore)
    if outcome.failed:
        return _version_page(context, request, outcome.form_html)
    flash(request, _("Version ${number} was restored as a new version.",
                     mapping={"number": context.version.number}))
    return HTTPSeeOther(edit_url(request, context.__parent__))
