"""Community room screens (オンラインコミュニティルーム): /s/{code}/room/ (threads),
``new`` (start a thread), /s/{code}/room/{id} (a thread; ``reply``; ``hide`` for
moderators), /s/{code}/room/posts/{id}/report (participants), ``…/hide`` and ``…/keep``
(moderators), /s/{code}/room/moderation (reported and hidden posts, the on/off switch)
and ``settings`` (site admins switch the room on or off).

The room's front page answers everyone on an active site and says why someone cannot
take part (room off, not signed in, not registered); the other pages need
``site:room:participate``, which the room grants only while it is on. Rules are in
``services/community_room.py``; texts are shown with ``message_html`` (escaped, only
http(s) links live).
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.community import RoomContainer, RoomPostResource, RoomThreadResource
from ..schemas.community import ReasonSchema, ReplySchema, ThreadSchema
from ..services.community_room import POSTS_PER_WINDOW, WINDOW, CommunityRoomService
from ..services.errors import NotAllowed
from .consultations import message_html
from .public import page_param

CLOSED_RENDERER = "community/room_closed.jinja2"
THREAD_RENDERER = "community/room_thread.jinja2"
REASON_RENDERER = "community/room_reason.jinja2"


def _service(request) -> CommunityRoomService:
    return request.service(CommunityRoomService)


def _account(request):
    return request.identity.account if request.identity is not None else None


def _room_url(request, site):
    return request.application_url + f"/s/{site.code}/room/"


def _closed(request, exc):
    """The page saying why the person cannot take part, with the refusal's status."""
    request.response.status_int = 403
    return {"reason": exc.message, "signed_in": request.identity is not None,
            "is_registrant": _account(request) is not None
            and _account(request).kind == "registrant"}


def _rules(request):
    return {"posts_per_window": POSTS_PER_WINDOW,
            "window_minutes": int(WINDOW.total_seconds() // 60),
            "may_moderate": bool(request.has_permission(P.ROOM_MODERATE, request.context))}


@view_config(context=RoomContainer, renderer="community/room.jinja2", permission=P.VIEW,
             request_method="GET")
def room(context, request):
    service = _service(request)
    try:
        service.check_member(context.site, _account(request))
    except NotAllowed as exc:
        request.override_renderer = CLOSED_RENDERER
        return _closed(request, exc)
    threads = service.threads(context.site, page=page_param(request))
    return {"threads": threads, "counts": service.post_counts([t.id for t in threads.items]),
            **_rules(request)}


def _thread_form(request):
    return make_form(request, ThreadSchema(),
                     buttons=(button(request, "post", _("Start the thread")),))


@view_config(context=RoomContainer, name="new", renderer="community/room_new.jinja2",
             permission=P.ROOM_PARTICIPATE, request_method="GET")
def new_thread(context, request):
    try:
        _service(request).check_member(context.site, _account(request))
    except NotAllowed as exc:
        request.override_renderer = CLOSED_RENDERER
        return _closed(request, exc)
    return {"form": _thread_form(request).render(), **_rules(request)}


@view_config(context=RoomContainer, name="new", renderer="community/room_new.jinja2",
             permission=P.ROOM_PARTICIPATE, request_method="POST")
def start_thread(context, request):
    outcome = submit(request, _thread_form(request), lambda values: _service(request)
                     .start_thread(_account(request), context.site, **values))
    if outcome.failed:
        return {"form": outcome.form_html, **_rules(request)}
    return HTTPSeeOther(_room_url(request, context.site) + str(outcome.result.id))


def _reply_form(request, context):
    return make_form(request, ReplySchema(), action=request.resource_url(context, "reply"),
                     buttons=(button(request, "post", _("Post the reply")),))


def _thread_page(context, request, form_html=None):
    service = _service(request)
    thread = context.thread
    rules = _rules(request)
    if thread.hidden_at is not None and not rules["may_moderate"]:
        return {"thread": thread, "posts": None, "form": None, **rules}
    if form_html is None and thread.hidden_at is None:
        form_html = _reply_form(request, context).render()
    return {"thread": thread, "posts": service.posts(thread, page=page_param(request)),
            "form": form_html, "message_html": message_html,
            "me": _account(request).id, **rules}


@view_config(context=RoomThreadResource, renderer=THREAD_RENDERER,
             permission=P.ROOM_PARTICIPATE, request_method="GET")
def thread_page(context, request):
    try:
        _service(request).check_member(context.site, _account(request))
    except NotAllowed as exc:
        request.override_renderer = CLOSED_RENDERER
        return _closed(request, exc)
    return _thread_page(context, request)


@view_config(context=RoomThreadResource, name="reply", renderer=THREAD_RENDERER,
             permission=P.ROOM_PARTICIPATE, request_method="POST")
def reply(context, request):
    outcome = submit(request, _reply_form(request, context), lambda values: _service(request)
                     .reply(_account(request), context.thread, values["body"]))
    if outcome.failed:
        return _thread_page(context, request, form_html=outcome.form_html)
    return HTTPSeeOther(request.resource_url(context) + f"#post-{outcome.result.id}")


# -- reports and moderation ---------------------------------------------------------------

def _reason_form(request, title):
    return make_form(request, ReasonSchema(), buttons=(button(request, "send", title),))


def _reason_page(form_html, *, heading, post=None, thread=None):
    return {"form": form_html, "heading": heading, "post": post, "thread": thread,
            "message_html": message_html}


# (heading, button, message when done) of each reason page
REPORT = (_("Report this post"), _("Send the report"),
          _("Thank you. The moderators will look at the post."))
HIDE_POST = (_("Hide this post"), _("Hide the post"),
             _("The post is hidden and its author has been told why."))
HIDE_THREAD = (_("Hide this thread"), _("Hide the thread"),
               _("The thread is hidden and its author has been told why."))


def _reason_view(request, texts, action, back, **shown):
    heading, title, done = texts
    form = _reason_form(request, title)
    if request.method == "GET":
        return _reason_page(form.render(), heading=heading, **shown)
    outcome = submit(request, form, lambda values: action(values["reason"]))
    if outcome.failed:
        return _reason_page(outcome.form_html, heading=heading, **shown)
    flash(request, done)
    return HTTPSeeOther(back)


def _thread_url(request, post_context, post):
    return f"{_room_url(request, post_context.site)}{post.thread_id}#post-{post.id}"


def _moderation_url(request, site):
    return _room_url(request, site) + "moderation"


@view_config(context=RoomPostResource, name="report", renderer=REASON_RENDERER,
             permission=P.ROOM_PARTICIPATE)
def report(context, request):
    post = context.post
    return _reason_view(
        request, REPORT,
        lambda reason: _service(request).report(_account(request), post, reason),
        _thread_url(request, context, post), post=post)


def _hide(context, request, texts, hide, shown):
    """A moderator hides the context's post or thread (``shown``) with a reason its
    author is told."""
    item = getattr(context, shown)
    return _reason_view(request, texts, lambda reason: hide(request.actor, item, reason),
                        _moderation_url(request, context.site), **{shown: item})


@view_config(context=RoomPostResource, name="hide", renderer=REASON_RENDERER,
             permission=P.ROOM_MODERATE)
def hide_post(context, request):
    return _hide(context, request, HIDE_POST, _service(request).hide_post, "post")


@view_config(context=RoomThreadResource, name="hide", renderer=REASON_RENDERER,
             permission=P.ROOM_MODERATE)
def hide_thread(context, request):
    return _hide(context, request, HIDE_THREAD, _service(request).hide_thread, "thread")


@view_config(context=RoomPostResource, name="keep", permission=P.ROOM_MODERATE,
             request_method="POST")
def keep_post(context, request):
    _service(request).keep_post(request.actor, context.post)
    flash(request, _("The post stays; its reports are closed."))
    return HTTPSeeOther(_moderation_url(request, context.site))


def _moderation_page(context, request, error=None):
    service = _service(request)
    return {"reported": service.reported(context.site), "hidden": service.hidden(context.site),
            "message_html": message_html, "error": error,
            "may_switch": bool(request.has_permission(P.SITE_SETTINGS, context))}


@view_config(context=RoomContainer, name="moderation",
             renderer="community/room_moderation.jinja2", permission=P.ROOM_MODERATE,
             request_method="GET")
def moderation(context, request):
    return _moderation_page(context, request)


@view_config(context=RoomContainer, name="settings",
             renderer="community/room_moderation.jinja2", permission=P.SITE_SETTINGS,
             request_method="POST")
def switch(context, request):
    enabled = request.POST.get("enabled")
    if enabled not in ("on", "off"):
        request.response.status_int = 400
        return _moderation_page(context, request, error=_("Choose to open or close the room."))
    _service(request).set_enabled(request.actor, context.site, enabled == "on")
    flash(request, _("The community room is open.") if enabled == "on"
          else _("The community room is closed."))
    return HTTPSeeOther(_moderation_url(request, context.site))
