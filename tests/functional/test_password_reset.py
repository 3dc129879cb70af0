"""Password reset through the pages and the mail, for staff and registrants alike."""
from datetime import timedelta

import pytest
import webtest
from sqlalchemy import select

from furusato_cms.models import Account, AuthSession
from furusato_cms.services.passwords import verify_password

from ..auth_factories import submit_signin
from ..factories import PASSWORD, make_account, sign_in
from ..registrant_factories import mail_link, make_registrant

NEW_PASSWORD = "a brand new pass phrase"
CHECK_MAIL = "メールをご確認ください"


@pytest.fixture
def mail(mail_catcher):
    mail_catcher.clear()
    return mail_catcher


def ask_for_reset(testapp, email):
    page = testapp.get("/signin").click(href="/password-reset$")
    form = page.forms["deform"]
    form["email"] = email
    return form.submit("send")


def set_new_password(page, password=NEW_PASSWORD, again=None, status=303):
    form = page.forms["deform"]
    form["password"] = password
    form["password_again"] = password if again is None else again
    return form.submit("reset", status=status)


def password_hash(dbsession, account):
    dbsession.expire_all()
    return dbsession.get(Account, account.id).password_hash


def test_reset_through_the_mail_signs_out_everywhere_and_the_new_password_works(
        app, testapp, dbsession, clock, app_settings, mail):
    staff = make_account(dbsession, "staff@example.jp")
    other_device = webtest.TestApp(app, extra_environ=testapp.extra_environ)
    sign_in(other_device, dbsession, staff, clock, app_settings)
    assert other_device.get("/account").status_int == 200

    assert CHECK_MAIL in ask_for_reset(testapp, "Staff@Example.jp").text
    page = testapp.get(mail_link(mail, "staff@example.jp", "/password-reset/"))
    assert page.headers["Cache-Control"] == "no-store"
    response = set_new_password(page)
    assert response.location == "http://localhost/signin"
    assert "新しいパスワードを設定しました" in response.follow().text

    assert verify_password(password_hash(dbsession, staff), NEW_PASSWORD)
    assert all(s.revoked_at == clock() for s in dbsession.scalars(
        select(AuthSession).where(AuthSession.account_id == staff.id)))
    assert other_device.get("/account", status=302).location.startswith(
        "http://localhost/signin")
    assert "パスワードが正しくありません" in submit_signin(testapp, "staff@example.jp",
                                                  status=200).text
    assert submit_signin(testapp, "staff@example.jp", NEW_PASSWORD, status=303)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(testapp, dbsession, mail):
    make_registrant(dbsession, "person@example.jp")

    def answer(email):
        return ask_for_reset(testapp, email).html.find("main").get_text(" ", strip=True)

    assert answer("nobody@example.jp").replace("nobody", "X") == answer(
        "person@example.jp").replace("person", "X")
    assert mail.messages(to="nobody@example.jp") == []
    assert len(mail.messages(to="person@example.jp")) == 1


def test_an_expired_link_is_refused_and_changes_nothing(testapp, dbsession, clock, mail):
    account = make_registrant(dbsession, "person@example.jp")
    ask_for_reset(testapp, "person@example.jp")
    page = testapp.get(mail_link(mail, "person@example.jp", "/password-reset/"))
    before = password_hash(dbsession, account)
    clock.advance(timedelta(minutes=60))
    refused = set_new_password(page, status=404)
    assert "このリンクは使えません" in refused.text
    assert refused.click(href="/password-reset$").status_int == 200
    assert password_hash(dbsession, account) == before


def test_a_link_works_once(testapp, dbsession, mail):
    make_registrant(dbsession, "person@example.jp")
    ask_for_reset(testapp, "person@example.jp")
    path = mail_link(mail, "person@example.jp", "/password-reset/")
    set_new_password(testapp.get(path))
    assert "このリンクは使えません" in testapp.get(path, status=404).text


def test_mismatched_passwords_rerender_and_the_link_stays_usable(testapp, dbsession, mail):
    account = make_registrant(dbsession, "person@example.jp")
    ask_for_reset(testapp, "person@example.jp")
    page = testapp.get(mail_link(mail, "person@example.jp", "/password-reset/"))
    again = set_new_password(page, again="not the same at all", status=200)
    assert "2つのパスワードが一致しません。" in again.text
    assert verify_password(password_hash(dbsession, account), PASSWORD)
    set_new_password(again)
    assert verify_password(password_hash(dbsession, account), NEW_PASSWORD)
