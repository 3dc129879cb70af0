"""How the table-driven access tests read a response: allowed or denied; and a second
browser for the tests that need one."""
import webtest


def get_outcome(response) -> str:
    """A GET is allowed when the page answers (200, or a redirect not to sign-in)."""
    if response.status_int in (403, 404):
        return "denied"
    if response.status_int in (301, 302, 303):
        return "denied" if "/signin" in response.location else "allowed"
    assert response.status_int == 200, response.status
    return "allowed"


def post_outcome(response) -> str:
    """A POST with incomplete input is allowed when it is not refused (a form message,
    400, or a redirect not to sign-in); never a 5xx."""
    if response.status_int in (403, 404):
        return "denied"
    if response.status_int in (301, 302, 303) and "/signin" in response.location:
        return "denied"
    assert response.status_int < 500, response.status
    return "allowed"


def csrf_token(testapp) -> str:
    """A valid token for this client: from the sign-out form when signed in, else from
    the sign-in form (public pages carry no form, hence no token)."""
    field = testapp.get("/").html.find("input", {"name": "csrf_token"})
    if field is None:
        field = testapp.get("/signin").html.find("input", {"name": "csrf_token"})
    return field["value"]


def stranger(app, connection, clock):
    """Another browser, as a person opening a mail's link: no cookies, no session, no CSRF
    token, joined to the test's transaction."""
    return webtest.TestApp(app, extra_environ={
        "HTTP_HOST": "localhost", "REMOTE_ADDR": "192.0.2.7",
        "furusato.db_connection": connection, "furusato.clock": clock})
