"""Signing up through the pages: the confirmation mail really sent, its link signing the
person in, and the answers that never reveal whether an address has an account."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from furusato_cms.models import Account, AuthSession

from ..auth_factories import submit_signin
from ..factories import PASSWORD, make_account
from ..registrant_factories import mail_link, make_registrant

CHECK_MAIL = "メールをご確認ください"
LINK_INVALID = "このリンクは使えません"


@pytest.fixture
def mail(mail_catcher):
    mail_catcher.clear()
    return mail_catcher


def submit_signup(testapp, email="new@example.jp", *, password=PASSWORD, again=None,
                  name="新井 一郎", locale="ja", terms=True, status=200):
    form = testapp.get("/signup").forms["deform"]
    form["accept_terms"] = terms
    form["email"] = email
    form["display_name"] = name
    form["password"] = password
    form["password_again"] = password if again is None else again
    form["locale"] = locale
    return form.submit("signup", status=status)


def main_text(page) -> str:
    return page.html.find("main").get_text(" ", strip=True)


def account_by_email(dbsession, email):
    dbsession.expire_all()
    return dbsession.scalar(select(Account).where(Account.email == email))


def test_the_signin_page_links_to_sign_up(testapp):
    page = testapp.get("/signin")
    assert page.click(href="/signup$").status_int == 200


def test_sign_up_mails_a_link_that_confirms_and_signs_in(testapp, dbsession, clock, mail):
    page = submit_signup(testapp)
    assert CHECK_MAIL in page.text and "new@example.jp" in page.text
    account = account_by_email(dbsession, "new@example.jp")
    assert account.kind == "registrant" and account.email_confirmed_at is None
    path = mail_link(mail, "new@example.jp", "/confirm/")

    page = testapp.get(path)
    assert "メールアドレスを確認する" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert account_by_email(dbsession, "new@example.jp").email_confirmed_at is None
    session_before = testapp.cookies["furusato_session"]

    response = page.forms["deform"].submit("confirm", status=303)
    assert response.location == "http://localhost/my/"
    assert testapp.cookies["furusato_session"] != session_before
    account = account_by_email(dbsession, "new@example.jp")
    assert account.email_confirmed_at == clock()
    assert dbsession.scalar(
        select(func.count()).select_from(AuthSession).where(AuthSession.account_id == account.id)
    ) == 1
    assert testapp.get("/my/data.json").json["account"]["email"] == "new@example.jp"
    assert LINK_INVALID in testapp.get(path, status=404).text


def test_a_known_address_gets_the_same_page_and_no_second_account(testapp, dbsession, mail):
    make_account(dbsession, "taken@example.jp", name="既存 花子")
    known = main_text(submit_signup(testapp, "taken@example.jp"))
    new = main_text(submit_signup(testapp, "fresh@example.jp"))
    assert known.replace("taken@example.jp", "X") == new.replace("fresh@example.jp", "X")
    assert dbsession.scalar(
        select(func.count()).select_from(Account).where(Account.email == "taken@example.jp")
    ) == 1
    [message] = mail.messages(to="taken@example.jp")
    assert "既存 花子 様" in message["text"]
    assert "http://localhost/password-reset" in message["text"].splitlines()


@pytest.mark.parametrize("email, password, again, message", [
    ("new@example.jp", PASSWORD, "something else entirely", "2つのパスワードが一致しません。"),
    ("long-address@example.jp", "long-address@example.jp", None,
     "このパスワードは推測されやすいため使えません。"),
    ("new@example.jp", "short", None, "12文字以上にしてください。"),
])
def test_bad_input_rerenders_with_messages_and_keeps_what_was_typed(
        testapp, dbsession, mail, email, password, again, message):
    page = submit_signup(testapp, email, password=password, again=again)
    assert message in page.text
    form = page.forms["deform"]
    assert (form["email"].value, form["display_name"].value) == (email, "新井 一郎")
    assert account_by_email(dbsession, email) is None
    assert mail.messages() == []


def test_sign_ups_from_one_address_are_throttled(testapp, app_settings, mail):
    for number in range(app_settings.signin_max_failures):
        submit_signup(testapp, f"p{number}@example.jp")
    page = submit_signup(testapp, "late@example.jp", status=429)
    assert "分ほど待ってから" in page.text


def test_an_unconfirmed_registrant_is_refused_at_signin_with_a_resend_link(testapp, dbsession):
    make_registrant(dbsession, "waiting@example.jp", confirmed=False)
    page = submit_signin(testapp, "waiting@example.jp", status=200)
    assert "メールアドレスの確認がまだ済んでいません" in page.text
    assert page.click(href="/confirm/resend$").status_int == 200
    assert "furusato_auth" not in testapp.cookies


def test_an_expired_link_offers_to_send_a_new_one(testapp, dbsession, clock, mail):
    submit_signup(testapp)
    path = mail_link(mail, "new@example.jp", "/confirm/")
    form = testapp.get(path).forms["deform"]
    clock.advance(timedelta(hours=48))
    page = form.submit("confirm", status=404)
    assert LINK_INVALID in page.text
    assert account_by_email(dbsession, "new@example.jp").email_confirmed_at is None
    assert "furusato_auth" not in testapp.cookies

    mail.clear()
    resend = page.click(href="/confirm/resend$").forms["deform"]
    resend["email"] = "new@example.jp"
    assert CHECK_MAIL in resend.submit("send").text
    testapp.get(mail_link(mail, "new@example.jp", "/confirm/")).forms["deform"].submit(
        "confirm", status=303)
    assert account_by_email(dbsession, "new@example.jp").email_confirmed_at == clock()


def test_an_unknown_link_is_a_friendly_page(testapp):
    page = testapp.get("/confirm/not-a-real-token", status=404)
    assert LINK_INVALID in page.text and "確認メールをもう一度送る" in page.text


def test_resend_answers_the_same_whether_or_not_an_account_waits(testapp, dbsession, mail):
    make_registrant(dbsession, "waiting@example.jp", confirmed=False)

    def resend(email):
        form = testapp.get("/confirm/resend").forms["deform"]
        form["email"] = email
        return main_text(form.submit("send")).replace(email, "X")

    assert resend("waiting@example.jp") == resend("nobody@example.jp")
    assert len(mail.messages(to="waiting@example.jp")) == 1
    assert mail.messages(to="nobody@example.jp") == []
