"""The reference page for ``page_ratio``: a bare Pyramid + Jinja2 application (no
database, no sessions, no security policy), so the ratio shows what furusato-cms adds
on top of the framework it is built on."""
from pathlib import Path

from pyramid.config import Configurator
from pyramid.view import view_config

ITEMS = [f"お知らせ {n}" for n in range(1, 11)]


@view_config(route_name="page", renderer="bare.jinja2")
def page(request):
    return {"title": "ふるさと住民登録", "items": ITEMS}


def make_app():
    settings = {"jinja2.directories": str(Path(__file__).parent / "templates"),
                "jinja2.autoescape": "true"}
    with Configurator(settings=settings) as config:
        config.include("pyramid_jinja2")
        config.add_route("page", "/")
        config.scan(__name__)
    return config.make_wsgi_app()
