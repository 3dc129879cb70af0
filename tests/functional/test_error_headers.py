"""Every answer carries the same security headers — error pages (400, 403, 404, 413, 500,
503) included, and an error that escapes every exception view — and HSTS is sent when
the setting asks for it (production), not in development."""
import configparser
import os

import pytest
import webtest
from pyramid.httpexceptions import HTTPRequestEntityTooLarge
from pyramid.request import Request
from sqlalchemy.exc import OperationalError

from furusato_cms import main
from furusato_cms.tweens import security_headers_tween_factory

from ..conftest import HERE, base_settings
from ..factories import NAGANO_CITY, make_account, make_site, sign_in
from ..faults.checks import assert_security_headers

YEAR = 365 * 24 * 3600


def test_404_403_and_400_pages_carry_the_security_headers(testapp, dbsession, clock,
                                                          app_settings):
    make_site(dbsession, NAGANO_CITY)
    assert_security_headers(testapp.get(f"/s/{NAGANO_CITY}/posts/no-such-post", status=404))
    assert_security_headers(testapp.get("/no/such/page", status=404))
    assert_security_headers(testapp.post("/signin", {"email": "x"}, status=400))
    assert_security_headers(testapp.get("/?page=zero", status=400))
    sign_in(testapp, dbsession, make_account(dbsession, kind="registrant"), clock,
            app_settings)
    assert_security_headers(testapp.get("/operator/", status=403))


def _through_the_tween(app, handler):
    """One request through the app's own security-header tween around ``handler``."""
    tween = security_headers_tween_factory(handler, app.registry)
    request = Request.blank("/somewhere", base_url="http://localhost")
    request.registry = app.registry
    return tween(request)


@pytest.fixture(scope="module")
def bare_app():
    return main({}, **base_settings("sqlite://"))


def test_an_error_response_from_anywhere_gets_the_headers(bare_app):
    response = _through_the_tween(bare_app, lambda request: HTTPRequestEntityTooLarge())
    assert response.status_int == 413
    assert_security_headers(response)


@pytest.mark.parametrize("error, status", [
    (RuntimeError("boom"), 500),
    (OperationalError("SELECT 1", {}, Exception("server closed the connection")), 503),
])
def test_an_error_escaping_every_view_is_a_page_with_the_headers(bare_app, error, status):
    """What pyramid_tm's COMMIT or a failing exception view would let through to waitress."""
    def handler(request):
        raise error

    response = _through_the_tween(bare_app, handler)
    assert response.status_int == status
    assert_security_headers(response)
    assert ("Retry-After" in response.headers) == (status == 503)


def test_hsts_only_where_the_setting_turns_it_on(testapp, dbsession):
    assert "Strict-Transport-Security" not in testapp.get("/healthz").headers
    app = webtest.TestApp(main({}, **base_settings("sqlite://", **{
        "furusato.hsts_seconds": str(YEAR)})), extra_environ={"HTTP_HOST": "localhost"})
    for response in (app.get("/healthz"), app.get("/no/such/page", status=404)):
        hsts = response.headers["Strict-Transport-Security"]
        assert hsts == f"max-age={YEAR}; includeSubDomains"


@pytest.mark.parametrize("ini, at_least", [("production.ini", YEAR), ("development.ini", 0)])
def test_production_sends_hsts_for_a_year_and_development_none(ini, at_least):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(HERE, ini))
    seconds = int(parser["app:main"]["furusato.hsts_seconds"])
    assert seconds >= at_least if at_least else seconds == 0


def test_theme_templates_are_not_served_only_their_static_assets(testapp):
    assert testapp.get("/themes/default/static/theme.css").content_type == "text/css"
    for path in ("/themes/default/layout.jinja2", "/themes/contrast/layout.jinja2",
                 "/themes/default/static/../layout.jinja2", "/themes/default/",
                 "/themes/default/static/%2e%2e/layout.jinja2"):
        page = testapp.get(path, status=404)
        assert "extends" not in page.text, path
        assert_security_headers(page)


@pytest.mark.parametrize("subpath, served", [
    (("default", "static", "theme.css"), True),
    (("default", "static", "fonts", "a.woff2"), True),
    (("default", "layout.jinja2"), False),
    (("default", "static", "layout.jinja2"), False),
    (("default", "static", ".hidden.css"), False),
    (("default", "static", "notes.txt"), False),
])
def test_only_web_asset_types_under_static_are_theme_assets(subpath, served):
    from furusato_cms.theme_assets import is_theme_asset

    assert is_theme_asset(subpath) is served
