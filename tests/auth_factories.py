"""Helpers for sign-in tests: TOTP codes at the test clock, the sign-in form, and the
principals the real security policy grants a cookie from a given address."""
from contextlib import contextmanager
from datetime import timedelta

import pyotp
from pyramid.interfaces import ISecurityPolicy
from pyramid.request import Request
from pyramid.scripting import prepare

from furusato_cms.security import AUTH_COOKIE

from .factories import PASSWORD, TOTP_SECRET, make_account


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


def complete_signin(testapp, clock, email, password=PASSWORD, *, came_from=None, **extra):
    """The whole sign-in of an enrolled account as a person does it: the password, then
    the app's code. The clock moves one 30 s step first, so the code is never one this
    account has used already. Returns the answer to the code."""
    submit_signin(testapp, email, password, came_from=came_from, status=303, **extra)
    clock.advance(timedelta(seconds=30))
    return submit_code(testapp, totp_code(clock), status=303, **extra)


def enrol_totp(browser, clock):
    """Go through the TOTP set-up pages; returns the secret shown and the recovery codes."""
    page = browser.get("/account/totp")
    page = form_posting_to(page, "/account/totp").submit("start").follow()
    assert 'src="data:image/svg+xml' in page.text
    secret = page.html.find("code").text.replace(" ", "")
    form = page.forms["deform"]
    form["code"] = totp_code(clock, secret)
    page = form.submit("confirm", status=200)
    assert len(page.html.select("ol.recovery-codes code")) == 10
    return secret, [code.text for code in page.html.select("ol.recovery-codes code")]


def form_posting_to(page, path):
    """The form on ``page`` whose action ends with ``path``."""
    return next(form for form in page.forms.values() if form.action.endswith(path))


def submit_code(testapp, code, *, status=None, **extra):
    form = testapp.get("/signin/totp", **extra).forms["deform"]
    form["code"] = code
    return form.submit("verify", status=status, **extra)


@contextmanager
def app_request(app, connection, clock, token, addr, forwarded_for=None):
    """A request through the real app's registry (security policy, ACLs), from ``addr``."""
    environ = {
        "REMOTE_ADDR": addr,
        "HTTP_HOST": "localhost",
        "furusato.db_connection": connection,
        "furusato.clock": clock,
    }
    if forwarded_for:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded_for
    request = Request.blank("/", environ=environ)
    if token:
        request.cookies[AUTH_COOKIE] = token
    env = prepare(request=request, registry=app.registry)
    request.tm.begin()  # what pyramid_tm's tween does for a real request
    try:
        yield request, env["root"]
    finally:
        request.tm.abort()
        env["closer"]()


def principals_for(app, connection, clock, token, addr="127.0.0.1", forwarded_for=None):
    """What the app's own security policy grants this cookie from ``addr``."""
    with app_request(app, connection, clock, token, addr, forwarded_for) as (request, _root):
        policy = request.registry.getUtility(ISecurityPolicy)
        return set(policy.effective_principals(request))


def permits(app, connection, clock, token, addr, site, permission, forwarded_for=None):
    """Whether the site's own ACL lets this cookie from ``addr`` have ``permission`` —
    the check a staff view such as /s/{code}/manage makes before it runs."""
    with app_request(app, connection, clock, token, addr, forwarded_for) as (request, root):
        context = root["s"][site.code]
        return bool(request.has_permission(permission, context))
