"""CSRF tokens: a signed-in browser's is bound to its sign-in (no cookie session needed),
a browser without a sign-in keeps the session-held one, and pages start or re-sign no
cookie session they do not need."""
import webtest
from pyramid.testing import DummyRequest

from furusato_cms.csrf import SignInBoundCSRFStoragePolicy
from furusato_cms.security import AUTH_COOKIE
from furusato_cms.templating import SESSION_COOKIE

from ..auth_factories import complete_signin, form_posting_to
from ..factories import make_account

SIGN_OUT = "/signout"


def sign_out_token(testapp) -> str:
    return form_posting_to(testapp.get("/account"), SIGN_OUT)["csrf_token"].value


def session_cookies_set(response) -> list:
    return [header for header in response.headers.getall("Set-Cookie")
            if header.startswith(SESSION_COOKIE + "=")]


def second_browser(app, testapp):
    return webtest.TestApp(app, extra_environ=testapp.extra_environ)


def test_a_signed_in_browsers_token_is_the_same_on_every_page_and_needs_no_session(
        testapp, dbsession, clock):
    make_account(dbsession)
    complete_signin(testapp, clock, "staff@example.jp")
    token = sign_out_token(testapp)
    sign_in = testapp.cookies[AUTH_COOKIE]
    testapp.reset()
    testapp.set_cookie(AUTH_COOKIE, sign_in)
    page = testapp.get("/account")
    assert form_posting_to(page, SIGN_OUT)["csrf_token"].value == token
    assert session_cookies_set(page) == []
    form_posting_to(page, SIGN_OUT).submit(status=303)


def test_another_sign_in_has_another_token_and_cannot_use_this_ones(
        app, testapp, dbsession, clock):
    make_account(dbsession)
    complete_signin(testapp, clock, "staff@example.jp")
    other = second_browser(app, testapp)
    complete_signin(other, clock, "staff@example.jp")
    mine, theirs = sign_out_token(testapp), sign_out_token(other)
    assert mine != theirs
    other.post(SIGN_OUT, {"csrf_token": mine}, status=400)
    assert sign_out_token(other) == theirs
    testapp.post(SIGN_OUT, {"csrf_token": mine}, status=303)


def test_signing_in_again_changes_the_token(testapp, dbsession, clock):
    make_account(dbsession)
    complete_signin(testapp, clock, "staff@example.jp")
    before = sign_out_token(testapp)
    form_posting_to(testapp.get("/account"), SIGN_OUT).submit(status=303)
    complete_signin(testapp, clock, "staff@example.jp")
    after = sign_out_token(testapp)
    assert after != before
    testapp.post(SIGN_OUT, {"csrf_token": before}, status=400)
    testapp.post(SIGN_OUT, {"csrf_token": after}, status=303)


def test_a_page_without_a_message_does_not_send_the_session_cookie_again(testapp):
    first = testapp.get("/signin")
    assert session_cookies_set(first)
    token = first.forms["deform"]["csrf_token"].value
    again = testapp.get("/signin")
    assert session_cookies_set(again) == []
    assert again.forms["deform"]["csrf_token"].value == token


def test_the_policy_binds_to_the_sign_in_cookie_and_refuses_what_is_not_a_string():
    policy = SignInBoundCSRFStoragePolicy("secret")
    alice = DummyRequest(cookies={AUTH_COOKIE: "alice-sign-in"})
    bob = DummyRequest(cookies={AUTH_COOKIE: "bob-sign-in"})
    token = policy.get_csrf_token(alice)
    assert policy.new_csrf_token(alice) == token
    assert policy.check_csrf_token(alice, token)
    assert not policy.check_csrf_token(bob, token)
    assert not policy.check_csrf_token(alice, token[:-1])
    assert not policy.check_csrf_token(alice, None)
    assert not policy.check_csrf_token(alice, "ｘ" + token)
    assert SignInBoundCSRFStoragePolicy("another secret").get_csrf_token(alice) != token


def test_a_signed_in_browser_may_still_send_the_token_its_session_holds():
    policy = SignInBoundCSRFStoragePolicy("secret")
    before = DummyRequest()
    held = policy.get_csrf_token(before)
    after = DummyRequest(cookies={AUTH_COOKIE: "alice-sign-in", SESSION_COOKIE: "kept"},
                         session=before.session)
    assert policy.get_csrf_token(after) != held
    assert policy.check_csrf_token(after, held)
    assert policy.check_csrf_token(after, policy.get_csrf_token(after))
    assert not policy.check_csrf_token(after, "another")


def test_without_a_sign_in_the_token_is_kept_in_the_session():
    policy = SignInBoundCSRFStoragePolicy("secret")
    request = DummyRequest()
    token = policy.get_csrf_token(request)
    assert request.session["_csrft_"] == token
    assert policy.check_csrf_token(request, token)
    assert not policy.check_csrf_token(DummyRequest(), token)
