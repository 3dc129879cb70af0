"""Editing the introduction page (自治体紹介ページ): /s/{code}/intro/edit.

Saves are live at once (see ``PublishingService.update_intro``); earlier versions
are at /s/{code}/intro/versions.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..markup import render_markdown
from ..permissions import Permissions as P
from ..resources.content import IntroResource
from ..schemas.content import IntroSchema
from ..services.publishing import PublishingService
from .content_admin import common

RENDERER = "content_admin/intro_edit.jinja2"


def _form(request):
    return make_form(request, IntroSchema(),
                     buttons=(button(request, "save", _("Save and publish")),))


def _page(context, form_html):
    page = context.page
    return common(
        page=page, form=form_html,
        preview_html=render_markdown(page.body if page else ""),
    )


@view_config(context=IntroResource, name="edit", renderer=RENDERER,
             permission=P.CONTENT_EDIT, request_method="GET")
def intro_edit(context, request):
    page = context.page
    appstruct = (
        {"title": page.title, "body": page.body, "expected_version": page.version}
        if page else {"title": context.site.name, "body": ""}
    )
    return _page(context, _form(request).render(appstruct))


@view_config(context=IntroResource, name="edit", renderer=RENDERER,
             permission=P.CONTENT_EDIT, request_method="POST")
def intro_save(context, request):
    def save(values):
        request.service(PublishingService).update_intro(
            request.actor, context.site, values["title"], values["body"],
            expected_version=values["expected_version"],
        )

    outcome = submit(request, _form(request), save)
    if outcome.failed:
        return _page(context, outcome.form_html)
    flash(request, _("The introduction page was saved and is now shown on the site."))
    return HTTPSeeOther(request.resource_url(context, "edit"))
