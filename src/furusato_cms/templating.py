"""What every template gets: the theme's layout, the current site, its breadcrumbs, and
one way to write dates and times (dates.py: 2026年11月5日(木) 14:00, Asia/Tokyo)."""
import os
from functools import lru_cache, partial

from jinja2.ext import Extension
from jinja2.lexer import TOKEN_DOT, TOKEN_LPAREN, TOKEN_NAME, TOKEN_RPAREN, TOKEN_STRING, Token
from markupsafe import escape
from pyramid.csrf import get_csrf_token
from pyramid.events import BeforeRender
from pyramid.threadlocal import get_current_request
from pyramid_jinja2 import IJinja2Environment, Jinja2TemplateRenderer

from sqlalchemy import select

from . import dates
from .i18n import TemplateGettext, template_gettext, translator
from .navigation import breadcrumbs, page_audience
from .template_output import JoinedOutputCodeGenerator
from .template_runtime import use_cheaper_runtime
from .models import DATABASE_UNAVAILABLE, Site
from .resources.site import find_site_resource


SESSION_COOKIE = "furusato_session"


def theme_layout(settings, theme: str) -> str:
    return _theme_layout(settings.themes_dir, theme)


@lru_cache(maxsize=64)
def _theme_layout(themes_dir: str, theme: str) -> str:
    """Looked up on disk once per theme (a stat on every page before): themes are
    deployed with the application, like the templates Jinja2 keeps once read."""
    if theme and os.path.exists(os.path.join(themes_dir, theme, "layout.jinja2")):
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


FLASH_KEY = "_f_"
"""Where Pyramid's session keeps the default queue of flash messages."""


def flash_messages(request) -> list:
    """Messages left for this visitor; without a session cookie there can be none, and
    not touching the session then keeps the page free of a new session cookie. Pyramid's
    ``pop_flash`` marks the session changed even when it pops nothing, which would sign
    and send the whole session cookie again with every page: it is called only when
    there is a message."""
    if SESSION_COOKIE not in request.cookies:
        return []
    session = request.session
    return session.pop_flash() if FLASH_KEY in session else []



class ConstantTranslations(Extension):
    """``_('literal text')`` translated once, when a template is compiled for one language
    (``LocalizedEnvironments``): the compiled page holds the translation as text, where
    each such call cost a Context.call, often a derived context, and a catalogue lookup
    on every render (a site page made about thirty). ``_`` with a mapping or a variable
    stays a call at render time."""

    def filter_stream(self, stream):
        gettext = self.environment.constant_gettext
        tokens = list(stream)
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if (token.type == TOKEN_NAME and token.value == "_"
                    and (i == 0 or tokens[i - 1].type != TOKEN_DOT)
                    and [t.type for t in tokens[i + 1:i + 4]]
                    == [TOKEN_LPAREN, TOKEN_STRING, TOKEN_RPAREN]):
                yield Token(token.lineno, TOKEN_STRING, gettext(tokens[i + 2].value))
                i += 4
                continue
            yield token
            i += 1


class LocalizedEnvironments:
    """pyramid_jinja2's environment with an overlay per language, made at its first page:
    its templates are compiled with ``ConstantTranslations`` (in a cache of their own, and
    without a shared bytecode cache, which would mix the languages), and its globals
    hold the language's ``translate``, ``format_dt``, ``format_date`` and ``format_span``,
    made once instead of on every render, and ``_`` for what is translated at render time
    (a message with a mapping): the language's catalogue, where Jinja2's ``_`` went
    through two Context.calls to ``TemplateGettext`` and the current request. The
    language is the current request's; the negotiator gives only ``LOCALES``."""

    def __init__(self, environment):
        environment.code_generator_class = JoinedOutputCodeGenerator
        use_cheaper_runtime(environment)
        self.environment = environment
        self.by_locale = {}
        owner = getattr(environment.globals.get("gettext"), "__self__", None)
        self.domain = owner.domain if isinstance(owner, TemplateGettext) else None

    def for_request(self, request):
        if request is None:
            return self.environment
        locale = request.locale_name
        localized = self.by_locale.get(locale)
        if localized is None:
            localized = self.by_locale[locale] = self._localized(locale, request.localizer)
        return localized

    def _localized(self, locale, localizer):
        localized = self.environment.overlay(
            extensions=[ConstantTranslations] if self.domain else [], bytecode_cache=None)
        localized.constant_gettext = partial(template_gettext, localizer, self.domain)
        localized.globals = {**self.environment.globals, "translate": translator(localizer),
                             **dates.template_functions(locale)}
        if self.domain:
            localized.globals["_"] = localized.constant_gettext
        return localized

    def get_template(self, name):
        return self.for_request(get_current_request()).get_template(name)


def template_renderer_factory(info):
    """pyramid_jinja2's ``.jinja2`` renderer without its first guess: it tried each name
    relative to the view's package (``furusato_cms.views:public/site.jinja2``), a miss
    Jinja2 does not remember, so every page searched the disk once in vain. Our templates
    are all on the search path (``jinja2.directories``: the package's templates, then the
    themes), and Jinja2 keeps each one it found. Templates come from the request's
    language's environment (``LocalizedEnvironments``)."""
    registry = info.registry
    environments = registry.get("furusato.jinja2_environments")
    if environments is None:
        environment = registry.queryUtility(IJinja2Environment, name=".jinja2")
        environments = registry["furusato.jinja2_environments"] = LocalizedEnvironments(
            environment)
    name = info.name
    return Jinja2TemplateRenderer(lambda: environments.get_template(name))


STATIC_URLS_KEPT = 256
"""Static asset URLs remembered per application URL and asset; the host comes from the
request, so the memory is bounded (cleared when full) whatever Host headers arrive."""


def static_url(request, app_url: str, spec: str) -> str:
    """``request.static_url(spec)`` remembered per application URL: Pyramid builds it
    through route generation each time (about 13 µs, twice on every page), and the
    static view's URL depends on nothing else."""
    urls = request.registry.furusato_static_urls
    key = (app_url, spec)
    url = urls.get(key)
    if url is None:
        if len(urls) >= STATIC_URLS_KEPT:
            urls.clear()
        url = urls[key] = request.static_url(spec)
    return url


def add_globals(event):
    """The variables of every page. ``app_url`` is ``request.application_url`` read once:
    WebOb builds it anew on each access, and a page writes it in most of its links."""
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
    app_url = event["app_url"] = request.application_url
    event["static_url"] = partial(static_url, request, app_url)
    event["identity"] = request.identity
    event["csrf_token"] = LazyCSRFToken(request)
    event["flash_messages"] = lambda: flash_messages(request)
    audience = page_audience(request)
    event["page_audience"] = audience
    event["breadcrumbs"] = breadcrumbs(request, site_resource, audience) if site else []


def includeme(config):
    config.registry.furusato_static_urls = {}
    config.add_subscriber(add_globals, BeforeRender)


