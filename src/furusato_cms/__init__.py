"""furusato-cms: the WSGI application."""
from pyramid.config import Configurator
from pyramid.session import SignedCookieSessionFactory
from pyramid.tweens import INGRESS

from .appsettings import AppSettings
from .clock import system_clock
from .replicas import REPLICA_ENVIRON
from .request_class import bake
from .request_guard import InputGuard
from .security import csrf_applies
from .services.paging import read_together
from .templating import SESSION_COOKIE, template_renderer_factory


def request_clock(request):
    """Tests may pin time for one request through the WSGI environ."""
    return request.environ.get("furusato.clock") or request.registry["clock"]


def _services_session(request):
    """In a public read (a view declared ``replica=True``) the replica's session, see
    replicas.py; else the request's own."""
    return (request.read_dbsession if request.environ.get(REPLICA_ENVIRON)
            else request.dbsession)


def request_service(request, service_class):
    """Build a service with this request's session, clock and settings."""
    return service_class(_services_session(request), clock=request.clock,
                         settings=request.app_settings)


def request_read_together(request, *reads):
    """What each of the services' prepared reads becomes, read in one round trip on the
    session the services read from (services/paging.py)."""
    return read_together(_services_session(request), *reads)


def main(global_config, **settings):
    app_settings = AppSettings.from_settings(settings)
    settings.setdefault("jinja2.directories", "furusato_cms:templates")
    if app_settings.themes_dir:
        settings["jinja2.directories"] += "\n" + app_settings.themes_dir
    settings.setdefault("jinja2.i18n.domain", "furusato")
    settings.setdefault("jinja2.i18n.gettext", "furusato_cms.i18n.TemplateGettext")
    settings.setdefault("jinja2.filters", "")
    settings["jinja2.autoescape"] = "true"

    with Configurator(settings=settings, root_factory="furusato_cms.resources.root_factory") as config:
        config.registry["app_settings"] = app_settings
        config.registry["clock"] = system_clock
        config.add_request_method(lambda r: r.registry["app_settings"], "app_settings", reify=True)
        config.add_request_method(request_clock, "clock", property=True)
        config.add_request_method(request_service, "service")
        config.add_request_method(request_read_together, "read_together")

        config.set_session_factory(
            SignedCookieSessionFactory(
                app_settings.session_secret,
                cookie_name=SESSION_COOKIE,
                secure=app_settings.secure_cookies,
                httponly=True,
                samesite="Lax",
                timeout=3600,
                reissue_time=300,
            )
        )
        config.set_default_csrf_options(require_csrf=True,
                                        callback=csrf_applies)
        config.include(".csrf")

        config.include("pyramid_jinja2")
        config.add_renderer(".jinja2", template_renderer_factory)
        config.include(".models")
        config.include(".replicas")
        config.include(".security")
        config.include(".i18n")
        config.include(".forms")
        config.include(".templating")
        config.include(".public_cache")
        config.include(".views.notifications")
        config.include(".views.api")
        config.include(".request_guard")
        config.add_tween("furusato_cms.tweens.security_headers_tween_factory", under=INGRESS)
        config.add_static_view("static", "furusato_cms:static", cache_max_age=3600)
        if app_settings.themes_dir:
            config.include(".theme_assets")
        config.scan(".views")
    return InputGuard(bake(config.make_wsgi_app()), app_settings)
