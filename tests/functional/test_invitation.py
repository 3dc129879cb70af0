"""Accepting an invitation at /invitation/{token}: new people, existing accounts, bad links."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import Account, StaffMembership
from furusato_cms.services.audit import Actor
from furusato_cms.services.invitations import InvitationService

from ..auth_factories import enrol_totp, make_totp_account, submit_code, totp_code
from ..factories import PASSWORD, make_account, make_site

NEW_PASSWORD = "rice terraces at dawn"


@pytest.fixture
def invite(dbsession, clock, app_settings):
    site = make_site(dbsession)

    def issue(email="new@example.jp", role="editor", **kw):
        service = InvitationService(dbsession, clock=clock, settings=app_settings)
        invitation, token = service.invite(Actor.system(), site, email, role, **kw)
        return invitation, f"/invitation/{token}"

    issue.site = site
    return issue


def membership_of(dbsession, email):
    return dbsession.scalar(
        select(StaffMembership).join(Account).where(Account.email == email)
    )


def test_new_person_creates_an_account_and_is_signed_in(testapp, dbsession, invite, clock):
    invitation, path = invite(is_reviewer=True)
    page = testapp.get(path)
    assert "長野市の職員として参加する" in page.text and "new@example.jp" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    form = page.forms["deform"]
    form["display_name"] = "新井 一郎"
    form["password"] = form["password_again"] = NEW_PASSWORD
    response = form.submit("accept", status=303)
    assert response.location == "http://localhost/account/totp"  # staff enrol first
    enrol_totp(testapp, clock)
    # then the new editor reaches the staff screens
    assert testapp.get(f"/s/{invite.site.code}/manage").status_int == 200
    membership = membership_of(dbsession, "new@example.jp")
    assert membership.role == "editor" and membership.is_reviewer
    assert membership.account.kind == "staff" and membership.account.display_name == "新井 一郎"


def test_new_person_form_refusals_rerender(testapp, dbsession, invite):
    _invitation, path = invite()
    form = testapp.get(path).forms["deform"]
    form["display_name"] = "新井 一郎"
    form["password"], form["password_again"] = NEW_PASSWORD, NEW_PASSWORD + "x"
    page = form.submit("accept", status=200)
    assert "2つのパスワードが一致しません。" in page.text
    assert page.forms["deform"]["display_name"].value == "新井 一郎"
    assert membership_of(dbsession, "new@example.jp") is None


def test_existing_account_signs_in_to_accept(testapp, dbsession, invite):
    existing = make_account(dbsession, "hanako@example.jp")
    _invitation, path = invite("hanako@example.jp", "coordinator")
    page = testapp.get(path)
    assert "このメールアドレスのアカウントはすでにあります" in page.text
    assert "display_name" not in page.forms["deform"].fields
    form = page.forms["deform"]
    form["password"] = "wrong password"
    assert "メールアドレスまたはパスワードが正しくありません。" in form.submit(
        "accept", status=200).text
    form = testapp.get(path).forms["deform"]
    form["password"] = PASSWORD
    form.submit("accept", status=303)
    membership = membership_of(dbsession, "hanako@example.jp")
    assert membership.account_id == existing.id and membership.role == "coordinator"


def test_existing_account_with_totp_passes_the_code_first(testapp, dbsession, invite, clock):
    make_totp_account(dbsession, clock, email="totp@example.jp")
    _invitation, path = invite("totp@example.jp")
    form = testapp.get(path).forms["deform"]
    form["password"] = PASSWORD
    assert form.submit("accept").location == "http://localhost/signin/totp"
    done = submit_code(testapp, totp_code(clock))
    assert done.location == f"http://localhost/s/{invite.site.code}/manage"


def test_used_token_is_refused(testapp, dbsession, invite):
    _invitation, path = invite()
    form = testapp.get(path).forms["deform"]
    form["display_name"] = "新井 一郎"
    form["password"] = form["password_again"] = NEW_PASSWORD
    form.submit("accept", status=303)
    testapp.reset()
    page = testapp.get(path, status=404)
    assert "この招待は使えません" in page.text


def test_expired_token_is_refused_even_with_the_form_open(testapp, dbsession, invite, clock,
                                                          app_settings):
    _invitation, path = invite()
    form = testapp.get(path).forms["deform"]
    clock.advance(timedelta(days=app_settings.invitation_days, minutes=1))
    form["display_name"] = "新井 一郎"
    form["password"] = form["password_again"] = NEW_PASSWORD
    assert "この招待は使えません" in form.submit("accept", status=404).text
    assert membership_of(dbsession, "new@example.jp") is None


@pytest.mark.parametrize("path", ["/invitation/not-a-token", "/invitation/", "/invitation/a/b"])
def test_unknown_tokens_are_a_404_page(testapp, path):
    assert "この招待は使えません" in testapp.get(path, status=404).text
