"""The account page: memberships, password change, TOTP set-up and sign-out everywhere."""
from datetime import timedelta

import pytest
import webtest
from sqlalchemy import select

from furusato_cms.models import Account, AuditEntry
from furusato_cms.permissions import Permissions as P
from furusato_cms.services.passwords import verify_password

from ..auth_factories import (
    complete_signin,
    enrol_totp,
    form_posting_to,
    make_totp_account,
    permits,
    principals_for,
    submit_code,
    submit_signin,
    totp_code,
)
from ..factories import MATSUMOTO, PASSWORD, T0, make_account, make_site, make_staff

NEW_PASSWORD = "snow on the northern alps"


@pytest.fixture
def other_browser(app, connection, clock):
    return webtest.TestApp(app, extra_environ={
        "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.2",
        "furusato.db_connection": connection, "furusato.clock": clock,
    })


def signed_in(browser):
    return browser.get("/account", expect_errors=True).status_int == 200


def test_account_needs_a_signed_in_person(testapp):
    response = testapp.get("/account", status=302)
    assert response.location == "http://localhost/signin?came_from=/account"


def test_account_lists_memberships_and_roles(testapp, dbsession, clock):
    site = make_site(dbsession)
    make_staff(dbsession, site, "editor", email="editor@example.jp", is_reviewer=True)
    complete_signin(testapp, clock, "editor@example.jp")
    page = testapp.get("/account")
    assert "長野市" in page.text and "公開承認あり" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "庁内ネットワーク" not in page.text


def change_password(browser, current, new, again=None, status=None):
    form = browser.get("/account/password").forms["deform"]
    form["current_password"] = current
    form["new_password"] = new
    form["new_password_again"] = again if again is not None else new
    return form.submit("change", status=status)


def test_password_change_revokes_other_sessions(testapp, other_browser, dbsession, clock):
    account = make_account(dbsession)
    complete_signin(testapp, clock, account.email)
    complete_signin(other_browser, clock, account.email)
    response = change_password(testapp, PASSWORD, NEW_PASSWORD, status=303)
    assert "パスワードを変更しました" in response.follow().text
    assert signed_in(testapp) and not signed_in(other_browser)
    dbsession.expire_all()
    assert verify_password(account.password_hash, NEW_PASSWORD)
    other_browser.reset()
    assert submit_signin(other_browser, account.email, NEW_PASSWORD).status_int == 303


@pytest.mark.parametrize("current, new, again, message", [
    ("wrong password", NEW_PASSWORD, None, "現在のパスワードが正しくありません。"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "2つのパスワードが一致しません。"),
    (PASSWORD, "short", None, "12文字以上にしてください。"),
])
def test_password_change_refusals_rerender(testapp, dbsession, clock, current, new, again,
                                           message):
    account = make_account(dbsession)
    complete_signin(testapp, clock, account.email)
    page = change_password(testapp, current, new, again, status=200)
    assert message in page.text
    dbsession.expire_all()
    assert verify_password(account.password_hash, PASSWORD)


def test_totp_enrolment_then_sign_in_needs_the_code(testapp, other_browser, dbsession, clock):
    account = make_account(dbsession, enrolled=False)
    assert submit_signin(testapp, account.email).location == "http://localhost/account/totp"
    submit_signin(other_browser, account.email)
    secret, codes = enrol_totp(testapp, clock)
    assert len(set(codes)) == 10
    dbsession.expire_all()
    assert account.has_totp and account.totp_secret == secret
    assert signed_in(testapp), "the enrolling session has proved the second factor"
    assert not signed_in(other_browser)

    clock.advance(timedelta(seconds=30))
    testapp.reset()
    assert submit_signin(testapp, account.email).location == "http://localhost/signin/totp"
    assert not signed_in(testapp)
    submit_code(testapp, totp_code(clock, secret))
    assert signed_in(testapp)


def test_totp_confirmation_with_a_wrong_code_keeps_it_off(testapp, dbsession):
    account = make_account(dbsession, enrolled=False)
    submit_signin(testapp, account.email)
    page = form_posting_to(testapp.get("/account/totp"), "/account/totp").submit("start").follow()
    form = page.forms["deform"]
    form["code"] = "000000"
    page = form.submit("confirm", status=200)
    assert "確認コードが正しくありません" in page.text and 'src="data:image/svg+xml' in page.text
    dbsession.expire_all()
    assert not account.has_totp


def test_totp_can_be_turned_off_with_a_current_code(testapp, dbsession, clock):
    account = make_totp_account(dbsession, clock)
    submit_signin(testapp, account.email)
    submit_code(testapp, totp_code(clock))
    form = testapp.get("/account/totp").forms["deform"]
    form["code"] = totp_code(clock)
    assert "すでに使われています" in form.submit("disable", status=200).text
    clock.advance(timedelta(seconds=30))
    form = testapp.get("/account/totp").forms["deform"]
    form["code"] = totp_code(clock)
    page = form.submit("disable").follow()
    assert "2段階認証を解除しました" in page.text and "職員のアカウントは2段階認証が必須" in page.text
    dbsession.expire_all()
    assert not account.has_totp


def test_staff_without_two_step_sign_in_are_sent_to_enrol_and_hold_no_rights(
        testapp, app, connection, dbsession, clock):
    site = make_site(dbsession, MATSUMOTO)
    account = make_staff(dbsession, site, "site_admin", email="admin@example.jp",
                         enrolled=False)
    signed = submit_signin(testapp, account.email, came_from=f"/s/{site.code}/manage")
    assert signed.location == "http://localhost/account/totp"
    token = testapp.cookies["furusato_auth"]
    assert "職員のアカウントは2段階認証が必須" in signed.follow().text
    manage = testapp.get(f"/s/{site.code}/manage", status=302)
    assert manage.location == "http://localhost/account/totp"
    assert "職員のアカウントは2段階認証が必須" in testapp.get("/account").text
    assert not permits(app, connection, clock, token, "127.0.0.1", site, P.SITE_DASHBOARD)
    assert f"account:{account.id}" in principals_for(app, connection, clock, token)

    enrol_totp(testapp, clock)
    assert "職員のアカウントは2段階認証が必須" not in testapp.get("/account").text
    assert testapp.get(f"/s/{site.code}/manage").status_int == 200
    assert f"site:{site.id}:site_admin" in principals_for(app, connection, clock, token)


def test_the_operator_too_is_sent_to_enrol(testapp, dbsession):
    make_account(dbsession, "operator@example.jp", is_operator=True, enrolled=False)
    assert submit_signin(testapp, "operator@example.jp").location == (
        "http://localhost/account/totp")
    assert testapp.get("/operator/", status=302).location == "http://localhost/account/totp"


def test_registrants_choose_two_step_sign_in_for_themselves(testapp, dbsession):
    make_account(dbsession, "person@example.jp", kind="registrant",
                 email_confirmed_at=T0)
    assert submit_signin(testapp, "person@example.jp").location == "http://localhost/my/"


def test_a_recovery_code_signs_in_once_and_new_codes_replace_the_old(testapp, dbsession,
                                                                     clock):
    account = make_account(dbsession, enrolled=False)
    submit_signin(testapp, account.email)
    secret, codes = enrol_totp(testapp, clock)
    testapp.reset()
    submit_signin(testapp, account.email)
    assert submit_code(testapp, codes[0].upper().replace("-", " "), status=303)
    assert signed_in(testapp)
    testapp.reset()
    submit_signin(testapp, account.email)
    assert "使用済み" in submit_code(testapp, codes[0], status=200).text
    submit_code(testapp, codes[1], status=303)
    assert "10個中8個" in testapp.get("/account/totp").text

    clock.advance(timedelta(seconds=30))
    form = testapp.get("/account/totp").forms["regenerate"]
    form["code"] = totp_code(clock, secret)
    page = form.submit("regenerate", status=200)
    fresh = [code.text for code in page.html.select("ol.recovery-codes code")]
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    testapp.reset()
    submit_signin(testapp, account.email)
    submit_code(testapp, codes[2], status=200)
    submit_code(testapp, fresh[0], status=303)
    actions = [e.action for e in dbsession.scalars(select(AuditEntry))]
    assert "account.recovery_codes_regenerate" in actions


def test_sign_out_everywhere(testapp, other_browser, dbsession, clock):
    account = make_account(dbsession)
    complete_signin(testapp, clock, account.email)
    complete_signin(other_browser, clock, account.email)
    page = form_posting_to(testapp.get("/account"), "/account/signout-everywhere").submit()
    assert page.location == "http://localhost/signin"
    assert "すべての端末からログアウトしました" in page.follow().text
    assert not signed_in(testapp) and not signed_in(other_browser)
    actions = [e.action for e in dbsession.scalars(select(AuditEntry))]
    assert "account.signout_everywhere" in actions


def test_account_changes_are_post_only(testapp, dbsession):
    account = make_account(dbsession, enrolled=False)
    submit_signin(testapp, account.email)
    testapp.get("/account/signout-everywhere", status=404)
    assert "start" not in testapp.get("/account/totp", {"start": "start"}).forms
    dbsession.expire_all()
    assert dbsession.get(Account, account.id).totp_secret is None
