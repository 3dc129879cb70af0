"""Editing posts (発信コンテンツ): the list with states, new, edit, preview and workflow steps.

Whether the person may publish or send back is the ``site:content:publish``
permission on the post (site admins and reviewers); the workflow service makes
the final decision, so a forged request is refused as well as the button hidden.
"""
import colander
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, refusal_status_of, submit
from ..i18n import _
from ..markup import render_markdown
from ..models.content import CONTENT_STATES
from ..permissions import Permissions as P
from ..resources.content import PostResource, PostsContainer
from ..schemas.content import TransitionSchema, post_schema
from ..services.errors import ServiceError
from ..services.publishing import STATE_LABELS, PublishingService
from .content_admin import common, may_publish
from .public import page_param

EDIT_RENDERER = "content_admin/post_edit.jinja2"
NEW_RENDERER = "content_admin/post_new.jinja2"


@view_config(context=PostsContainer, name="manage", renderer="content_admin/posts_manage.jinja2",
             permission=P.CONTENT_EDIT, request_method="GET")
def manage(context, request):
    state = request.GET.get("state") or None
    if state is not None and state not in CONTENT_STATES:
        raise HTTPBadRequest(_("Unknown state. Choose one of the filters shown on the page."))
    posts = request.service(PublishingService).manage_list(
        context.site, state=state, page=page_param(request)
    )
    return common(posts=posts, state=state, now=request.clock())


def _new_form(request):
    return make_form(request, post_schema(new=True),
                     buttons=(button(request, "save", _("Save as draft")),))


@view_config(context=PostsContainer, name="new", renderer=NEW_RENDERER,
             permission=P.CONTENT_EDIT, request_method="GET")
def new_post(context, request):
    return common(form=_new_form(request).render({"kind": "news"}))


@view_config(context=PostsContainer, name="new", renderer=NEW_RENDERER,
             permission=P.CONTENT_EDIT, request_method="POST")
def create_post(context, request):
    def create(data):
        return request.service(PublishingService).create_post(
            request.actor, context.site, data["title"], data["slug"], data["summary"],
            data["body"], data["kind"], sorted(data["tags"]), data["publish_at"],
            data["expire_at"],
        )

    outcome = submit(request, _new_form(request), create)
    if outcome.failed:
        return common(form=outcome.form_html)
    flash(request, _("The draft was saved. Submit it for review when it is ready."))
    return HTTPSeeOther(request.resource_url(context, outcome.result.slug, "edit"))


def _edit_form(request):
    return make_form(request, post_schema(new=False),
                     buttons=(button(request, "save", _("Save")),))


def _edit_page(context, request, form_html, *, workflow_error=None, comment=""):
    service = request.service(PublishingService)
    post = context.post
    return common(
        post=post, form=form_html, history=service.history(post),
        steps=service.available_transitions(post, may_publish=may_publish(request, context)),
        workflow_error=workflow_error, comment=comment, now=request.clock(),
    )


def _current_values(post) -> dict:
    return {
        "title": post.title, "kind": post.kind, "tags": set(post.tags), "summary": post.summary,
        "body": post.body, "publish_at": post.publish_at, "expire_at": post.expire_at,
        "expected_version": post.version,
    }


@view_config(context=PostResource, name="edit", renderer=EDIT_RENDERER,
             permission=P.CONTENT_EDIT, request_method="GET")
def edit_post(context, request):
    return _edit_page(context, request, _edit_form(request).render(_current_values(context.post)))


@view_config(context=PostResource, name="edit", renderer=EDIT_RENDERER,
             permission=P.CONTENT_EDIT, request_method="POST")
def save_post(context, request):
    def save(data):
        request.service(PublishingService).update(
            request.actor, context.post, expected_version=data["expected_version"],
            title=data["title"], kind=data["kind"], tags=sorted(data["tags"]),
            summary=data["summary"], body=data["body"], publish_at=data["publish_at"],
            expire_at=data["expire_at"],
        )

    outcome = submit(request, _edit_form(request), save)
    if outcome.failed:
        return _edit_page(context, request, outcome.form_html)
    flash(request, _("Saved as version ${number}.", mapping={"number": context.post.version}))
    return HTTPSeeOther(request.resource_url(context, "edit"))


@view_config(context=PostResource, name="transition", renderer=EDIT_RENDERER,
             permission=P.CONTENT_EDIT, request_method="POST")
def transition(context, request):
    """One workflow step. A refusal shows the edit page again with the reason and the comment."""
    comment = request.POST.get("comment", "")
    try:
        data = TransitionSchema().deserialize(dict(request.POST.items()))
        request.service(PublishingService).transition(
            request.actor, context.post, data["to_state"], data["comment"],
            may_publish=may_publish(request, context),
        )
    except colander.Invalid as e:
        request.response.status_int = 400
        message = " ".join(e.asdict(translate=request.localizer.translate).values())
        return _edit_page(context, request, _edit_form(request).render(
            _current_values(context.post)), workflow_error=message, comment=comment)
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return _edit_page(context, request, _edit_form(request).render(
            _current_values(context.post)), workflow_error=exc.message, comment=comment)
    flash(request, _("The post is now: ${state}.",
                     mapping={"state": request.localizer.translate(
                         STATE_LABELS[context.post.state])}))
    return HTTPSeeOther(request.resource_url(context, "edit"))


@view_config(context=PostResource, name="preview", renderer="content_admin/post_preview.jinja2",
             permission=P.CONTENT_EDIT, request_method="GET")
def preview(context, request):
    """The post as visitors would see it, in any state (drafts included)."""
    post = context.post
    return common(post=post, body_html=render_markdown(post.body),
                  visible_now=post.is_visible_at(request.clock()))
