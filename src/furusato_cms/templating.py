"""What every template gets: the theme's layout, the current site, its breadcrumbs, and
one way to write dates and times (dates.py: 2026年11月5日(木) 14:00, Asia/Tokyo)."""
import os

from markupsafe import escape
from pyramid.csrf import get_csrf_token
from pyramid.events import BeforeRender
from pyramid_jinja2 import IJinja2Environment, Jinja2TemplateRenderer

from sqlalchemy import select

from . import dates
from .i18n import translator
from .navigation import breadcrumbs, page_audience
from .models import DATABASE_UNAVAILABLE, Site
from .resources.site import find_site_resource


SESSION_COOKIE = "furusato_session"


def theme_layout(settings, theme: str) -> str:
    if theme and os.path.exists(os.path.join(settings.themes_dir, theme, "layout.jinja2")):
        return f"{theme}/layout.jinja2"
    return "default/layout.jinja2"


def _public_site_of_failed_request(request):
    """On error pages the context is the exception; find the site from the traversed path
    so a 404 inside a site still looks like that site (active sites only)."""
    traversed = getattr(request, "traversed", None) or ()
    exception = getattr(request, "exception", None)
    if exception is None or len(traversed) < 2 or traversed[0] != "s":
        return None
    if isinstance(exception, DATABASE_UNAVAILABLE):
        return None
    site = request.dbsession.scalar(select(Site).where(Site.code == traversed[1]))
    return site if site is not None and site.is_public else None


class LazyCSRFToken:
    """The request's CSRF token, made only when a template prints it: a page without a
    form then starts no session, so anonymous visitors' pages can be cached and shared."""

    __slots__ = ("_request",)

    def __init__(self, request):
        self._request = request

    def __str__(self):
        return get_csrf_token(self._request)

    def __html__(self):
        return escape(str(self))


def flash_messages(request) -> list:
    """Messages left for this visitor; without a session cookie there can be none, and
    not touching the session then keeps the page free of a new session cookie."""
    if SESSION_COOKIE not in request.cookies:
        return []
    return request.session.pop_flash()



def template_renderer_factory(info):
    """pyramid_jinja2's ``.jinja2`` renderer without its first guess: it tried each name
    relative to the view's package (``furusato_cms.views:public/site.jinja2``), a miss
    Jinja2 does not remember, so every page searched the disk once in vain. Our templates
    are all on the search path (``jinja2.directories``: the package's templates, then the
    themes), and Jinja2 keeps each one it found."""
    environment = info.registry.queryUtility(IJinja2Environment, name=".jinja2")
    name = info.name
    return Jinja2TemplateRenderer(lambda: environment.get_template(name))

def add_globals(event):
    request = event.get("request")
    if request is None or not str(event.get("renderer_name", "")).endswith(".jinja2"):
        return
    context = event.get("context", getattr(request, "context", None))
    site_resource = find_site_resource(context)
    site = event.get("site") or (
        site_resource.site if site_resource else _public_site_of_failed_request(request)
    )
    theme = site.theme if site is not None else "default"
    locale = request.locale_name
    event.setdefault("site", site)
    event.setdefault("theme", theme)
    event["layout"] = theme_layout(request.app_settings, theme)
    event["locale"] = locale
    event["identity"] = request.identity
    event["csrf_token"] = LazyCSRFToken(request)
    event["flash_messages"] = lambda: flash_messages(request)
    event["translate"] = translator(request.localizer)
    audience = page_audience(request)
    event["page_audience"] = audience
    event["breadcrumbs"] = breadcrumbs(request, site_resource, audience) if site else []
    event["format_dt"] = lambda moment, kind="datetime": dates.format_moment(moment, locale, kind)
    event["format_date"] = lambda day, kind="date": dates.format_day(day, locale, kind)
    event["format_span"] = lambda starts, ends: dates.format_span(starts, ends, locale)


def includeme(config):
    config.add_subscriber(add_globals, BeforeRender)


