"""/my/apps: a registrant sees the apps they allowed and stops them; stopping ends the
app's tokens for that person (not for anybody else) and asks for consent again."""
import pytest
from sqlalchemy import select

from furusato_cms.models import OAuthConsent

from ..factories import NAGANO_CITY, make_account, make_site, make_staff, sign_in
from ..oauth_factories import bearer, make_client, make_token


@pytest.fixture
def person(dbsession):
    return make_account(dbsession, "person@example.jp", kind="registrant")


@pytest.fixture
def signed_in(testapp, dbsession, clock, app_settings, person):
    sign_in(testapp, dbsession, person, clock, app_settings)
    return testapp


def test_the_apps_with_their_owner_and_scopes(signed_in, dbsession, person):
    site = make_site(dbsession, NAGANO_CITY)
    make_token(dbsession, make_client(dbsession, site, name="ながの暮らし", owner_name="長野市"),
               person, scopes=["inbox"])
    page = signed_in.get("/my/apps")
    assert "ながの暮らし" in page.text and "長野市" in page.text
    assert "あなたへのお知らせ" in page.text
    assert "/my/apps" in signed_in.get("/my/").text


def test_stopping_an_app_ends_its_tokens_for_this_person_only(signed_in, dbsession, person):
    client = make_client(dbsession)
    other = make_account(dbsession, "other@example.jp", kind="registrant")
    mine, theirs = make_token(dbsession, client, person), make_token(dbsession, client, other)
    page = signed_in.get("/my/apps")
    page = page.forms[next(k for k, f in page.forms.items()
                           if f.action.endswith("/my/apps"))].submit().follow()
    assert "このアプリはもうあなたのアカウントを使えません" in page.text
    assert dbsession.scalar(select(OAuthConsent).where(OAuthConsent.account_id == person.id)) is None
    signed_in.get("/api/v1/token-info", headers=bearer(mine), status=401)
    signed_in.get("/api/v1/token-info", headers=bearer(theirs), status=200)


def test_another_persons_app_cannot_be_stopped(signed_in, dbsession, person):
    other = make_account(dbsession, "other@example.jp", kind="registrant")
    make_token(dbsession, make_client(dbsession), person)
    client = make_client(dbsession, name="よそのアプリ")
    theirs = make_token(dbsession, client, other)
    form = signed_in.get("/my/apps").forms[1]
    form["client_id"].force_value(client.client_id)
    page = form.submit().follow()
    assert "連携していません" in page.text
    signed_in.get("/api/v1/token-info", headers=bearer(theirs), status=200)


def test_stopping_needs_the_csrf_token(signed_in, dbsession, person):
    client = make_client(dbsession)
    token = make_token(dbsession, client, person)
    signed_in.post("/my/apps", {"client_id": client.client_id}, status=400)
    signed_in.get("/api/v1/token-info", headers=bearer(token), status=200)


def test_only_registrants_have_apps(testapp, dbsession, clock, app_settings):
    testapp.get("/my/apps", status=302)
    staff = make_staff(dbsession, make_site(dbsession, NAGANO_CITY), "editor")
    sign_in(testapp, dbsession, staff, clock, app_settings)
    testapp.get("/my/apps", status=403)
