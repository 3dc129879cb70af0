"""Sign-in, the TOTP step and sign-out through the pages, and the admin network allow-list."""
from datetime import timedelta

import pytest
import webtest
from sqlalchemy import select

from furusato_cms import main
from furusato_cms.models import AuditEntry
from furusato_cms.permissions import Permissions as P

from ..auth_factories import (
    complete_signin,
    form_posting_to,
    make_totp_account,
    permits,
    principals_for,
    submit_code,
    submit_signin,
    totp_code,
)
from ..conftest import base_settings
from ..factories import PASSWORD, make_account, make_site, make_staff
from ..registrant_factories import make_registrant

GENERIC_FAILURE = "メールアドレスまたはパスワードが正しくありません。"


def auth_cookie(response):
    return next(
        c for c in response.headers.getall("Set-Cookie") if c.startswith("furusato_auth=")
    )


def test_signin_success_sets_a_new_session_and_goes_to_the_account(testapp, dbsession, clock):
    account = make_account(dbsession)
    response = complete_signin(testapp, clock, "Staff@Example.jp ")
    assert response.status_int == 303
    assert response.location == "http://localhost/account"
    cookie = auth_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "secure" not in cookie.lower()
    page = response.follow()
    assert "あなたのアカウント" in page.text and account.email in page.text
    dbsession.expire_all()
    assert account.last_signin_at == clock()
    assert "auth.signin" in [e.action for e in dbsession.scalars(select(AuditEntry))]



@pytest.mark.parametrize("role, landing", [
    ("site_admin", "/s/202011/manage"), ("coordinator", "/s/202011/manage"),
    ("partner", "/s/202011/manage"), ("editor", "/s/202011/posts/manage"),
])
def test_each_staff_role_lands_on_its_own_screen(testapp, dbsession, clock, role, landing):
    staff = make_staff(dbsession, make_site(dbsession, "202011"), role)
    done = complete_signin(testapp, clock, staff.email)
    assert done.location == "http://localhost" + landing
    assert done.follow().status_int == 200


def test_the_operator_and_registrants_land_on_their_own_pages(testapp, dbsession, clock):
    operator = make_account(dbsession, "operator@example.jp", is_operator=True)
    assert complete_signin(testapp, clock, operator.email).location == (
        "http://localhost/operator/")
    testapp.reset()
    person = make_registrant(dbsession, "person@example.jp")
    assert submit_signin(testapp, person.email).location == "http://localhost/my/"


@pytest.mark.parametrize("email, password", [("staff@example.jp", "wrong password"),
                                             ("nobody@example.jp", PASSWORD)])
def test_wrong_password_and_unknown_email_give_the_same_message(testapp, dbsession, email,
                                                                password):
    make_account(dbsession)
    page = submit_signin(testapp, email, password, status=200)
    assert GENERIC_FAILURE in page.text
    assert page.forms["deform"]["email"].value == email
    assert page.forms["deform"]["password"].value == ""
    assert "furusato_auth" not in testapp.cookies


def test_bad_input_rerenders_with_field_messages(testapp, dbsession):
    page = submit_signin(testapp, "not an email", "", status=200)
    assert "正しいメールアドレスを入力してください。" in page.text
    assert "furusato_auth" not in testapp.cookies


def test_signin_post_without_csrf_token_is_400(testapp, dbsession):
    make_account(dbsession)
    testapp.get("/signin")
    testapp.post("/signin", {"email": "staff@example.jp", "password": PASSWORD,
                             "signin": "signin"}, status=400)
    assert "furusato_auth" not in testapp.cookies


def test_came_from_is_followed_only_inside_the_site(testapp, dbsession, clock):
    make_account(dbsession)
    assert complete_signin(testapp, clock, "staff@example.jp",
                           came_from="/s/202011/manage").location == (
        "http://localhost/s/202011/manage")
    testapp.reset()
    assert complete_signin(testapp, clock, "staff@example.jp",
                           came_from="//evil.example/").location == "http://localhost/account"


def signed_out(testapp):
    return testapp.get("/account", status=302).location.startswith("http://localhost/signin")


def test_signin_renews_the_pyramid_session(testapp, dbsession, clock):
    make_account(dbsession)
    csrf_before = testapp.get("/signin").forms["deform"]["csrf_token"].value
    complete_signin(testapp, clock, "staff@example.jp")
    csrf_after = form_posting_to(testapp.get("/account"), "/signout")["csrf_token"].value
    assert csrf_after != csrf_before


def test_sign_out_ends_the_session(testapp, dbsession, clock):
    make_account(dbsession)
    complete_signin(testapp, clock, "staff@example.jp")
    token = testapp.cookies["furusato_auth"]
    page = form_posting_to(testapp.get("/account"), "/signout").submit().follow()
    assert "ログアウトしました。" in page.text
    testapp.set_cookie("furusato_auth", token)
    assert signed_out(testapp)
    assert "auth.signout" in [e.action for e in dbsession.scalars(select(AuditEntry))]


def test_new_signin_ends_the_browsers_previous_session(testapp, dbsession, clock):
    make_account(dbsession)
    complete_signin(testapp, clock, "staff@example.jp")
    old = testapp.cookies["furusato_auth"]
    testapp.set_cookie("furusato_auth", "")
    form = testapp.get("/signin").forms["deform"]  # e.g. a sign-in tab left open
    testapp.set_cookie("furusato_auth", old)
    form["email"], form["password"] = "staff@example.jp", PASSWORD
    form.submit("signin", status=303)
    clock.advance(timedelta(seconds=30))
    submit_code(testapp, totp_code(clock), status=303)
    new = testapp.cookies["furusato_auth"]
    assert new != old
    assert testapp.get("/account").status_int == 200
    testapp.set_cookie("furusato_auth", old)
    assert signed_out(testapp)


def test_sessions_of_other_browsers_are_left_alone(testapp, dbsession, clock):
    make_account(dbsession)
    complete_signin(testapp, clock, "staff@example.jp")
    first = testapp.cookies["furusato_auth"]
    testapp.reset()
    complete_signin(testapp, clock, "staff@example.jp")
    assert testapp.cookies["furusato_auth"] != first
    testapp.set_cookie("furusato_auth", first)
    assert testapp.get("/account").status_int == 200


def test_signout_is_post_only(testapp, dbsession, clock):
    make_account(dbsession)
    complete_signin(testapp, clock, "staff@example.jp")
    testapp.get("/signout", status=404)
    assert testapp.get("/account").status_int == 200


def test_lock_out_and_unlock_with_the_clock(testapp, dbsession, clock, app_settings):
    make_account(dbsession)
    for _ in range(app_settings.signin_max_failures - 1):
        submit_signin(testapp, "staff@example.jp", "wrong password", status=200)
    page = submit_signin(testapp, "staff@example.jp", "wrong password", status=429)
    assert f"{app_settings.signin_lockout_minutes}分ほど待って" in page.text
    page = submit_signin(testapp, "staff@example.jp", status=429)
    assert "furusato_auth" not in testapp.cookies
    clock.advance(timedelta(minutes=app_settings.signin_lockout_minutes))
    assert submit_signin(testapp, "staff@example.jp").location == "http://localhost/signin/totp"


def test_totp_account_must_type_the_code(testapp, dbsession, clock):
    make_totp_account(dbsession, clock)
    response = submit_signin(testapp, "totp@example.jp", came_from="/account/password")
    assert response.location == "http://localhost/signin/totp"
    pending = testapp.cookies["furusato_auth"]
    assert testapp.get("/account", status=302).location.startswith("http://localhost/signin")

    page = submit_code(testapp, "000000", status=200)
    assert "確認コードが正しくありません" in page.text
    done = submit_code(testapp, totp_code(clock)[:3] + " " + totp_code(clock)[3:])
    assert done.location == "http://localhost/account/password"
    assert testapp.cookies["furusato_auth"] != pending
    assert testapp.get("/account").status_int == 200
    testapp.set_cookie("furusato_auth", pending)
    assert testapp.get("/signin/totp", status=303).location == "http://localhost/signin"


def test_a_used_totp_code_is_refused(testapp, dbsession, clock):
    make_totp_account(dbsession, clock)
    code = totp_code(clock)
    submit_signin(testapp, "totp@example.jp")
    submit_code(testapp, code)
    testapp.reset()
    submit_signin(testapp, "totp@example.jp")
    page = submit_code(testapp, code, status=200)
    assert "この確認コードはすでに使われています" in page.text
    clock.advance(timedelta(seconds=30))
    assert submit_code(testapp, totp_code(clock)).status_int == 303


def test_totp_page_without_a_pending_sign_in_goes_back(testapp):
    assert testapp.get("/signin/totp", status=303).location == "http://localhost/signin"


# The admin network allow-list ----------------------------------------------------------

OFFICE, HOME = "10.20.30.40", "203.0.113.9"


@pytest.fixture(scope="module")
def office_only_app(db_url):
    return main({}, **base_settings(db_url, **{"furusato.admin_networks": "10.0.0.0/8"}))


@pytest.fixture
def office_only(office_only_app, connection, clock):
    def client(addr, **extra):
        return webtest.TestApp(office_only_app, extra_environ={
            "HTTP_HOST": "localhost", "REMOTE_ADDR": addr,
            "furusato.db_connection": connection, "furusato.clock": clock, **extra,
        })
    return client


def test_staff_rights_only_from_the_office_network(office_only, office_only_app, connection,
                                                    dbsession, clock):
    site = make_site(dbsession)
    account = make_staff(dbsession, site, "editor", email="editor@example.jp")
    browser = office_only(OFFICE)
    complete_signin(browser, clock, "editor@example.jp")
    token = browser.cookies["furusato_auth"]
    check = (office_only_app, connection, clock, token)

    assert browser.get(f"/s/{site.code}/manage").status_int == 200
    office_only(HOME).get(f"/s/{site.code}/manage", headers={"Cookie": f"furusato_auth={token}"},
                          status=403)

    assert permits(*check, OFFICE, site, P.SITE_DASHBOARD)
    assert f"site:{site.id}:editor" in principals_for(*check, OFFICE)
    assert not permits(*check, HOME, site, P.SITE_DASHBOARD)
    outside = principals_for(*check, HOME)
    assert f"account:{account.id}" in outside
    assert not any(p.startswith("site:") for p in outside)


def test_forged_forwarding_header_does_not_fake_the_office(office_only, office_only_app,
                                                          connection, dbsession, clock):
    site = make_site(dbsession)
    make_staff(dbsession, site, "site_admin", email="admin@example.jp")
    browser = office_only(HOME, HTTP_X_FORWARDED_FOR=OFFICE)
    complete_signin(browser, clock, "admin@example.jp")
    token = browser.cookies["furusato_auth"]
    browser.get(f"/s/{site.code}/manage", status=403)
    assert not permits(office_only_app, connection, clock, token, HOME, site,
                       P.SITE_DASHBOARD, forwarded_for=OFFICE)
    page = browser.get("/account")
    assert "庁内ネットワークから接続していない" in page.text


def test_signin_from_outside_works_for_the_account_but_grants_no_staff_rights(
        office_only, office_only_app, connection, dbsession, clock):
    site = make_site(dbsession)
    make_staff(dbsession, site, "editor", email="editor@example.jp")
    browser = office_only(HOME)
    assert complete_signin(browser, clock, "editor@example.jp").status_int == 303
    page = browser.get("/account")
    assert "長野市" in page.text and "庁内ネットワークから接続していない" in page.text
    principals = principals_for(office_only_app, connection, clock,
                                browser.cookies["furusato_auth"], HOME)
    assert not any(p.startswith("site:") for p in principals)


def test_secure_cookie_under_https_settings(db_url, connection, clock, dbsession):
    app = main({}, **base_settings(db_url, **{"furusato.secure_cookies": "true"}))
    make_account(dbsession)
    browser = webtest.TestApp(app, extra_environ={
        "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "https",
        "furusato.db_connection": connection, "furusato.clock": clock,
    })
    cookie = auth_cookie(submit_signin(browser, "staff@example.jp"))
    assert "; secure" in cookie.lower() and "HttpOnly" in cookie
