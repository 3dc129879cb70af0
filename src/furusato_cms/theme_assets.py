"""Themes' static files at ``/themes/<theme>/static/…`` — and nothing else of a theme.

A theme folder holds its templates (``layout.jinja2``) next to ``static/``; serving the
whole folder published the template sources. Only files under a theme's ``static/``
folder whose type is a web asset are served; anything else looks missing (404). Like
Pyramid's own static views they need no permission: public files, which must load even
when the database (and so the identity) is unavailable, e.g. on the 503 page."""
import os

from pyramid.httpexceptions import HTTPNotFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.static import static_view

ASSET_SUFFIXES = frozenset({
    ".css", ".js", ".map", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico",
    ".woff", ".woff2", ".ttf", ".otf",
})
"""Stylesheets, scripts, images and fonts: what a layout links to."""


def is_theme_asset(subpath) -> bool:
    """``(theme, "static", …, file)`` with an asset suffix; dot-files never."""
    parts = tuple(subpath)
    return (
        len(parts) >= 3
        and parts[1] == "static"
        and not any(part.startswith(".") for part in parts)
        and os.path.splitext(parts[-1])[1].lower() in ASSET_SUFFIXES
    )


def theme_asset_view_factory(themes_dir):
    serve = static_view(themes_dir, cache_max_age=3600, use_subpath=True)

    def theme_asset(context, request):
        if not is_theme_asset(request.subpath):
            raise HTTPNotFound()
        return serve(context, request)

    return theme_asset


def includeme(config):
    themes_dir = config.registry["app_settings"].themes_dir
    config.add_route("theme_assets", "/themes/*subpath")
    config.add_view(theme_asset_view_factory(themes_dir), route_name="theme_assets",
                    permission=NO_PERMISSION_REQUIRED)
