"""The registrant's side of engagement: interests and followed sites (/my/interests),
the inbox (/my/inbox, お知らせ), notification preferences (/my/notifications), and the
one-click unsubscribe page every mail links to (/unsubscribe/{token}).

The unsubscribe page works without signing in: the signed token is the proof of who
asks, so its POST is the one view exempt from the CSRF check — mail clients send that
POST themselves (RFC 8058) and have no CSRF token. Opening the link (GET) only shows
what will stop and a button, so link scanners unsubscribe nobody.

``request.unread_count`` (the header's unread number) is added by ``includeme``.
"""
import colander
import deform
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config
from sqlalchemy import select

from ..forms import CSRFSchema, button, flash, make_form, submit
from ..i18n import _
from ..interests import INTERESTS
from ..models import Site
from ..models.engagement import NOTIFICATION_KINDS
from ..permissions import Permissions as P
from ..resources import Root
from ..resources.my import MyArea
from ..schemas.fields import Text
from ..services.directory import SiteDirectory
from ..services.errors import ServiceError
from ..services.feed import FeedService
from ..services.notifications import KIND_LABELS, NotificationService
from .public import page_param

INTERESTS_PAGE = r"^/my/interests/?$"
FOLLOW = r"^/my/interests/(follow|unfollow)/?$"
INBOX = r"^/my/inbox/?$"
READ_ONE = r"^/my/inbox/\d{1,9}/read/?$"
READ_ALL = r"^/my/inbox/read-all/?$"
PREFERENCES = r"^/my/notifications/?$"
UNSUBSCRIBE = r"^/unsubscribe/[^/]{1,200}/?$"
SEARCH_MAX = 50


def unread_count(request) -> int:
    """Unread inbox messages of a signed-in registrant (0 for everyone else), read with
    the identity (security.py) so the header costs no statement."""
    identity = request.identity
    return 0 if identity is None else identity.unread_count


def includeme(config):
    config.add_request_method(unread_count, "unread_count", reify=True)


def _back(request, path, message=None):
    if message is not None:
        flash(request, message)
    return HTTPSeeOther(request.application_url + path)


# -- interests and followed sites ----------------------------------------------------

@colander.deferred
def _interests_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.CheckboxChoiceWidget(
        values=[(key, translate(label)) for key, label in INTERESTS.items()]
    )


class InterestsSchema(CSRFSchema):
    interests = colander.SchemaNode(
        colander.Set(), title=_("My interests"), missing=(), widget=_interests_widget,
        description=_("Posts and projects on these subjects appear on your page, and local "
                      "governments can send you information about them."),
    )


def _interests_form(request):
    return make_form(request, InterestsSchema(),
                     buttons=(button(request, "save", _("Save my interests")),))


def _interests_page(request, form_html):
    account = request.identity.account
    query = (request.GET.get("q") or "").strip()[:SEARCH_MAX]
    found = request.service(SiteDirectory).search(query).items if query else []
    followed = request.service(FeedService).followed(account)
    return {"form": form_html, "followed": followed, "query": query, "found": found,
            "followed_ids": {site.id for site, _registered, _explicit in followed}}


@view_config(context=MyArea, name="interests", path_info=INTERESTS_PAGE, request_method="GET",
             renderer="notifications/interests.jinja2", permission=P.REGISTRANT_SELF)
def interests_page(request):
    chosen = request.service(FeedService).interests(request.identity.account)
    return _interests_page(request, _interests_form(request).render({"interests": chosen}))


@view_config(context=MyArea, name="interests", path_info=INTERESTS_PAGE, request_method="POST",
             renderer="notifications/interests.jinja2", permission=P.REGISTRANT_SELF)
def save_interests(request):
    account = request.identity.account
    outcome = submit(request, _interests_form(request), lambda values: request.service(
        FeedService).set_interests(account, values["interests"]))
    if outcome.failed:
        return _interests_page(request, outcome.form_html)
    return _back(request, "/my/interests", _("Your interests have been saved."))


@view_config(context=MyArea, name="interests", path_info=FOLLOW, request_method="POST",
             permission=P.REGISTRANT_SELF)
def follow_or_unfollow(request):
    site = request.dbsession.scalar(select(Site).where(Site.code == request.POST.get("site", "")))
    if site is None:
        raise HTTPNotFound()
    service = request.service(FeedService)
    account = request.identity.account
    if request.subpath[0] == "unfollow":
        service.unfollow(account, site)
        return _back(request, "/my/interests", _("You no longer follow ${site}.",
                                                 mapping={"site": site.name}))
    try:
        service.follow(account, site)
    except ServiceError as error:
        return _back(request, "/my/interests", error.message)
    return _back(request, "/my/interests", _("You now follow ${site}.",
                                             mapping={"site": site.name}))


# -- the inbox ---------------------------------------------------------------------

@view_config(context=MyArea, name="inbox", path_info=INBOX, request_method="GET",
             renderer="notifications/inbox.jinja2", permission=P.REGISTRANT_SELF)
def inbox(request):
    messages = request.service(NotificationService).inbox(request.identity.account,
                                                          page=page_param(request))
    return {"messages": messages, "kind_labels": KIND_LABELS}


@view_config(context=MyArea, name="inbox", path_info=READ_ONE, request_method="POST",
             permission=P.REGISTRANT_SELF)
def mark_read(request):
    request.service(NotificationService).mark_read(request.identity.account,
                                                   int(request.subpath[0]))
    return _back(request, "/my/inbox")


@view_config(context=MyArea, name="inbox", path_info=READ_ALL, request_method="POST",
             permission=P.REGISTRANT_SELF)
def mark_all_read(request):
    request.service(NotificationService).mark_read(request.identity.account)
    return _back(request, "/my/inbox", _("All messages are marked as read."))


# -- preferences ---------------------------------------------------------------------

class PreferencesSchema(CSRFSchema):
    site = colander.SchemaNode(Text(6))
    email = colander.SchemaNode(colander.Set(), missing=(),
                                validator=colander.ContainsOnly(NOTIFICATION_KINDS))
    inbox = colander.SchemaNode(colander.Set(), missing=(),
                                validator=colander.ContainsOnly(NOTIFICATION_KINDS))


def _preferences_page(request, error=None):
    grid = request.service(NotificationService).preferences(request.identity.account)
    return {"grid": grid, "kind_labels": KIND_LABELS, "error": error}


@view_config(context=MyArea, name="notifications", path_info=PREFERENCES, request_method="GET",
             renderer="notifications/preferences.jinja2", permission=P.REGISTRANT_SELF)
def preferences(request):
    return _preferences_page(request)


@view_config(context=MyArea, name="notifications", path_info=PREFERENCES,
             request_method="POST", renderer="notifications/preferences.jinja2",
             permission=P.REGISTRANT_SELF)
def save_preferences(request):
    posted = {"site": request.POST.get("site", ""), "email": request.POST.getall("email"),
              "inbox": request.POST.getall("inbox")}
    try:
        values = PreferencesSchema().deserialize(posted)
    except colander.Invalid:
        request.response.status_int = 400
        return _preferences_page(request, _("The form could not be read. Please try again."))
    site = request.dbsession.scalar(select(Site).where(Site.code == values["site"]))
    if site is None:
        raise HTTPNotFound()
    request.service(NotificationService).save_preferences(
        request.identity.account, site, values["email"], values["inbox"])
    return _back(request, "/my/notifications",
                 _("Your choices for ${site} have been saved.", mapping={"site": site.name}))


# -- one-click unsubscribe ------------------------------------------------------------

def _token_target(request):
    """``(account, site, kind)`` of the link, or a friendly "not valid" page (404)."""
    request.response.cache_control.no_store = True
    token = request.subpath[0] if len(request.subpath) == 1 else ""
    found = request.service(NotificationService).describe_token(token)
    if found is None:
        request.response.status_int = 404
    return token, found


def _unsubscribe_page(token, found, *, done=None):
    account, site, kind = found if found else (None, None, None)
    return {"token": token, "valid": found is not None, "site_name": site.name if site else "",
            "kind_label": KIND_LABELS.get(kind), "done": done}


@view_config(context=Root, name="unsubscribe", path_info=UNSUBSCRIBE, request_method="GET",
             renderer="notifications/unsubscribe.jinja2", permission=P.VIEW)
def unsubscribe_page(request):
    token, found = _token_target(request)
    return _unsubscribe_page(token, found)


@view_config(context=Root, name="unsubscribe", path_info=UNSUBSCRIBE, request_method="POST",
             renderer="notifications/unsubscribe.jinja2", permission=P.VIEW,
             require_csrf=False)
def unsubscribe(request):
    """RFC 8058 one-click (``List-Unsubscribe=One-Click``) and the page's buttons."""
    token, found = _token_target(request)
    if found is None:
        return _unsubscribe_page(token, None)
    whole_site = request.POST.get("scope") == "site"
    request.service(NotificationService).unsubscribe(*found, whole_site=whole_site)
    return _unsubscribe_page(token, found, done="site" if whole_site else "kind")

