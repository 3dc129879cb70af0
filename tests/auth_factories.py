"""Helpers for sign-in tests: TOTP codes at the test clock, the sign-in form, and the
principals the real security policy grants a cookie from a given address."""
from datetime import timedelta

import pyotp
from pyramid.request import Request
from pyramid.scripting import prepare

from furusato_cms.security import AUTH_COOKIE

from .factories import PASSWORD, make_account

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(clock, secret=TOTP_SECRET, steps=0) -> str:
    """The code an authenticator app shows at the test clock (``steps`` x 30 s later)."""
    return pyotp.TOTP(secret).at(clock() + timedelta(seconds=30 * steps))


def make_totp_account(dbsession, clock, email="totp@example.jp", **kw):
    return make_account(
        dbsession, email, totp_secret=TOTP_SECRET, totp_enabled_at=clock(), **kw
    )


def submit_signin(testapp, email, password=PASSWORD, *, came_from=None, status=None, **extra):
    """Fill in and send /signin as a browser would (CSRF token included)."""
    path = "/signin" + (f"?came_from={came_from}" if came_from else "")
    form = testapp.get(path, **extra).forms["deform"]
    form["email"] = email
    form["password"] = password
    return form.submit("signin", status=status, **extra)


def submit_code(testapp, code, *, status=None, **extra):
    form = testapp.get("/signin/totp", **extra).forms["deform"]
    form["code"] = code
    return form.submit("verify", status=status, **extra)


def principals_for(app, connection, clock, token, addr="127.0.0.1"):
    """What the app's own security policy grants this cookie from ``addr``."""
    request = Request.blank(
        "/",
        environ={
            "REMOTE_ADDR": addr,
            "HTTP_HOST": "localhost",
            "furusato.db_connection": connection,
            "furusato.clock": clock,
        },
        cookies={AUTH_COOKIE: token} if token else {},
    )
    env = prepare(request=request, registry=app.registry)
    try:
        return set(request.effective_principals)
    finally:
        env["closer"]()
