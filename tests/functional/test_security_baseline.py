"""The security baseline every page has (ASVS 5.0 level 2 as the yardstick)."""
from ..factories import NAGANO_CITY, make_site


def test_security_headers_on_public_pages(testapp, dbsession):
    make_site(dbsession, NAGANO_CITY)
    headers = testapp.get(f"/s/{NAGANO_CITY}/").headers
    csp = headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'",
                      "script-src 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_unsafe_methods_need_the_csrf_token(testapp):
    page = testapp.post("/signin", {"email": "a@example.jp", "password": "x"}, status=400)
    assert "もう一度お試しください" in page.text
    assert "furusato_auth" not in testapp.cookies


def test_session_cookie_is_httponly_and_samesite(testapp, dbsession):
    cookie = testapp.get("/signin").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_without_a_form_start_no_session(testapp, dbsession):
    """Reading public pages leaves no trace on the visitor (and keeps them cacheable)."""
    make_site(dbsession, NAGANO_CITY)
    for path in ("/", f"/s/{NAGANO_CITY}/", f"/s/{NAGANO_CITY}/posts/"):
        assert "Set-Cookie" not in testapp.get(path).headers, path


def test_open_redirects_are_refused(testapp):
    for target in ("//evil.example/", "https://evil.example/", "evil"):
        response = testapp.get("/language", {"lang": "en", "came_from": target}, status=303)
        assert response.location == "http://localhost/"


def test_json_endpoints_do_not_start_sessions(testapp):
    assert "Set-Cookie" not in testapp.get("/healthz").headers
