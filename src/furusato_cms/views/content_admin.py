"""What the editing screens share: buttons, statuses, versions of any content item.

The screens themselves are in ``intro_admin.py``, ``posts_admin.py`` and
``images_admin.py``; versions work the same for the introduction page and posts,
so their views live here.
"""
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from ..forms import make_form, show_error, validate
from ..i18n import _
from ..interests import INTERESTS, POST_KIND_LABELS
from ..markup import render_markdown
from ..permissions import Permissions as P
from ..resources.content import VersionResource, VersionsResource
from ..schemas.content import RestoreSchema
from ..services.errors import Conflict, NotAllowed, ServiceError
from ..services.publishing import STATE_LABELS, PublishingService

ERROR_STATUS = {NotAllowed: 403, Conflict: 409}


def error_status(exc: ServiceError) -> int:
    """A refused rule re-renders the page; the status says why (400 bad input,
    403 not allowed for this person, 409 someone else changed it)."""
    return ERROR_STATUS.get(type(exc), 400)


def button(request, name, title):
    return deform.Button(name, title=request.localizer.translate(title))


def flash(request, message):
    """Flash messages are kept in the cookie session as plain text, so translate first."""
    request.session.flash(request.localizer.translate(message))


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
    form = _restore_form(request, context)
    try:
        appstruct = validate(request, form)
        request.service(PublishingService).restore(
            request.actor, context.item, context.version.number,
            expected_version=appstruct["expected_version"],
        )
    except deform.ValidationFailure as e:
        request.response.status_int = 400
        return _version_page(context, request, e.render())
    except ServiceError as exc:
        request.response.status_int = error_status(exc)
        return _version_page(context, request, show_error(form, exc.message, exc.field))
    flash(request, _("Version ${number} was restored as a new version.",
                     mapping={"number": context.version.number}))
    return HTTPSeeOther(edit_url(request, context.__parent__))
