"""The OAuth 2.0 flows end to end through the app: the consent screen, the authorization
code with PKCE, refresh rotation and reuse detection, client credentials (secret and
private_key_jwt), revocation and the server metadata."""
import base64
import hashlib
import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from furusato_cms.models import OAuthConsent, OAuthToken

from ..conftest import NOW
from ..factories import NAGANO_CITY, make_account, make_site, sign_in
from ..oauth_factories import REDIRECT_URI, bearer, make_client


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_url(client, challenge, *, scope="profile card", state="st-1", **extra):
    params = {"response_type": "code", "client_id": client.client_id,
              "redirect_uri": REDIRECT_URI, "scope": scope, "state": state,
              "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return "/oauth/authorize?" + urlencode(params)


def redirected_params(answer) -> dict:
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def person(dbsession):
    return make_account(dbsession, "person@example.jp", kind="registrant", name="登録 太郎")


@pytest.fixture
def signed_in(testapp, dbsession, clock, app_settings, person):
    sign_in(testapp, dbsession, person, clock, app_settings)
    return testapp


def approve(testapp, client, challenge, **kw):
    page = testapp.get(authorize_url(client, challenge, **kw))
    return page.forms["oauth-consent"].submit("approve", status=302)


def exchange(testapp, client, code, verifier, status=200, **extra):
    return testapp.post("/oauth/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": client.client_id, "code_verifier": verifier, **extra}, status=status)


def tokens_for(testapp, client, **kw):
    verifier, challenge = pkce()
    code = redirected_params(approve(testapp, client, challenge, **kw))["code"]
    return exchange(testapp, client, code, verifier).json


def test_the_consent_screen_names_the_app_its_owner_and_each_scope(signed_in, dbsession):
    client = make_client(dbsession, name="長野ふるさとアプリ", owner_name="株式会社ながの")
    page = signed_in.get(authorize_url(client, pkce()[1]))
    assert "長野ふるさとアプリ" in page.text and "株式会社ながの" in page.text
    assert "あなたのプロフィール" in page.text and "あなたの登録証" in page.text
    assert "活動の記録" not in page.text
    assert page.headers["Cache-Control"] == "no-store"


def test_approving_gives_a_code_that_gives_tokens_that_work(signed_in, dbsession, person):
    client = make_client(dbsession)
    verifier, challenge = pkce()
    params = redirected_params(approve(signed_in, client, challenge))
    assert params["state"] == "st-1"
    answer = exchange(signed_in, client, params["code"], verifier)
    body = answer.json
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "profile card"
    assert body["access_token"].startswith("fsa_") and body["refresh_token"].startswith("fsr_")
    assert answer.headers["Cache-Control"] == "no-store"
    signed_in.reset()
    info = signed_in.get("/api/v1/token-info", headers=bearer(body["access_token"])).json
    assert info["account_id"] == person.id and info["scopes"] == ["card", "profile"]
    consent = dbsession.scalar(select(OAuthConsent).where(OAuthConsent.client_pk == client.id))
    assert consent.scope == "profile card"


def test_only_hashes_are_stored(signed_in, dbsession):
    body = tokens_for(signed_in, make_client(dbsession))
    stored = dbsession.scalars(select(OAuthToken)).all()
    values = {v for row in stored for v in (row.access_token_hash, row.refresh_token_hash)}
    assert body["access_token"] not in values and body["refresh_token"] not in values


def test_denying_sends_access_denied_back_to_the_app(signed_in, dbsession):
    client = make_client(dbsession)
    page = signed_in.get(authorize_url(client, pkce()[1]))
    params = redirected_params(page.forms["oauth-consent"].submit("deny", status=302))
    assert params["error"] == "access_denied" and params["state"] == "st-1"


def test_an_app_asking_again_for_what_was_allowed_gets_its_code_at_once(signed_in, dbsession):
    client = make_client(dbsession)
    approve(signed_in, client, pkce()[1])
    again = signed_in.get(authorize_url(client, pkce()[1], scope="profile"), status=302)
    assert "code" in redirected_params(again)
    signed_in.get(authorize_url(client, pkce()[1], scope="profile inbox"), status=200)


def test_the_consent_form_needs_its_csrf_token(signed_in, dbsession):
    client = make_client(dbsession)
    signed_in.post(authorize_url(client, pkce()[1]), {"approve": "1"}, status=400)


def test_someone_not_signed_in_is_sent_to_sign_in_and_back(testapp, dbsession):
    client = make_client(dbsession)
    url = authorize_url(client, pkce()[1])
    answer = testapp.get(url, status=302)
    assert answer.headers["Location"] == "http://localhost/signin?came_from=" + url


def test_staff_cannot_grant_apps(testapp, dbsession, clock, app_settings):
    site = make_site(dbsession, NAGANO_CITY)
    from ..factories import make_staff
    staff = make_staff(dbsession, site, "site_admin")
    sign_in(testapp, dbsession, staff, clock, app_settings)
    testapp.get(authorize_url(make_client(dbsession), pkce()[1]), status=403)


@pytest.mark.parametrize("change,error", [
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": "", "code_challenge_method": ""}, "invalid_request"),
    ({"scope": "profile site.attendance.read"}, "invalid_scope"),
    ({"scope": "profile nonsense"}, "invalid_scope"),
    ({"scope": ""}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
])
def test_a_bad_request_of_a_known_app_goes_back_to_it_with_the_error(signed_in, dbsession,
                                                                     change, error):
    client = make_client(dbsession)
    answer = signed_in.get(authorize_url(client, pkce()[1], **change), status=302)
    assert redirected_params(answer)["error"] == error


@pytest.mark.parametrize("change", [
    {"redirect_uri": REDIRECT_URI + "/other"},
    {"redirect_uri": "http://127.0.0.1:8765/callback?x=1"},
    {"redirect_uri": ""},
    {"client_id": "fc_unknown"},
])
def test_an_unknown_app_or_redirect_uri_is_refused_here_never_redirected(signed_in, dbsession,
                                                                         change):
    client = make_client(dbsession)
    page = signed_in.get(authorize_url(client, pkce()[1], **change), status=400)
    assert "Location" not in page.headers
    assert "このアプリからの要求は受け付けられません" in page.text


def test_a_suspended_app_is_unknown(signed_in, dbsession):
    client = make_client(dbsession, suspended=True)
    signed_in.get(authorize_url(client, pkce()[1]), status=400)


def test_the_code_needs_the_right_verifier_and_works_once(signed_in, dbsession):
    client = make_client(dbsession)
    verifier, challenge = pkce()
    code = redirected_params(approve(signed_in, client, challenge))["code"]
    assert exchange(signed_in, client, code, pkce()[0], status=400).json["error"] == "invalid_grant"
    # the failed try used the code up
    assert exchange(signed_in, client, code, verifier, status=400).json["error"] == "invalid_grant"


def test_a_code_used_twice_revokes_what_it_gave(signed_in, dbsession):
    client = make_client(dbsession)
    verifier, challenge = pkce()
    code = redirected_params(approve(signed_in, client, challenge))["code"]
    first = exchange(signed_in, client, code, verifier).json
    exchange(signed_in, client, code, verifier, status=400)
    signed_in.reset()
    signed_in.get("/api/v1/token-info", headers=bearer(first["access_token"]), status=401)


def test_a_code_expires(signed_in, dbsession, clock):
    client = make_client(dbsession)
    verifier, challenge = pkce()
    code = redirected_params(approve(signed_in, client, challenge))["code"]
    clock.advance(timedelta(minutes=3))
    exchange(signed_in, client, code, verifier, status=400)


def test_a_code_is_for_its_own_app_only(signed_in, dbsession):
    client, other = make_client(dbsession), make_client(dbsession)
    verifier, challenge = pkce()
    code = redirected_params(approve(signed_in, client, challenge))["code"]
    exchange(signed_in, other, code, verifier, status=400)


def test_refresh_rotates_and_reuse_revokes_the_family(signed_in, dbsession):
    client = make_client(dbsession)
    first = tokens_for(signed_in, client)
    signed_in.reset()
    refresh = {"grant_type": "refresh_token", "client_id": client.client_id}
    second = signed_in.post("/oauth/token", {**refresh, "refresh_token": first["refresh_token"]}).json
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "profile card"
    signed_in.get("/api/v1/token-info", headers=bearer(second["access_token"]))
    reused = signed_in.post("/oauth/token", {**refresh, "refresh_token": first["refresh_token"]},
                            status=400)
    assert reused.json["error"] == "invalid_grant"
    signed_in.get("/api/v1/token-info", headers=bearer(second["access_token"]), status=401)
    signed_in.post("/oauth/token", {**refresh, "refresh_token": second["refresh_token"]},
                   status=400)


def test_refresh_may_narrow_the_scope_but_not_widen_it(signed_in, dbsession):
    client = make_client(dbsession)
    first = tokens_for(signed_in, client)
    refresh = {"grant_type": "refresh_token", "client_id": client.client_id,
               "refresh_token": first["refresh_token"]}
    signed_in.post("/oauth/token", {**refresh, "scope": "profile inbox"}, status=400)


def test_an_access_token_ends_after_an_hour(signed_in, dbsession, clock):
    body = tokens_for(signed_in, make_client(dbsession))
    signed_in.reset()
    clock.advance(timedelta(minutes=59))
    signed_in.get("/api/v1/token-info", headers=bearer(body["access_token"]))
    clock.advance(timedelta(minutes=2))
    signed_in.get("/api/v1/token-info", headers=bearer(body["access_token"]), status=401)


def test_revocation_ends_the_tokens_and_unknown_tokens_are_fine(signed_in, dbsession):
    client = make_client(dbsession)
    body = tokens_for(signed_in, client)
    signed_in.reset()
    signed_in.post("/oauth/revoke", {"token": body["refresh_token"],
                                     "client_id": client.client_id})
    signed_in.get("/api/v1/token-info", headers=bearer(body["access_token"]), status=401)
    signed_in.post("/oauth/revoke", {"token": "fsa_unknown", "client_id": client.client_id})
    assert signed_in.post("/oauth/revoke", {"client_id": client.client_id},
                          status=400).json["error"] == "invalid_request"


def test_the_token_endpoint_refuses_bad_requests_in_oauth_form(testapp, dbsession):
    client = make_client(dbsession)
    assert testapp.post("/oauth/token", {"grant_type": "password"},
                        status=400).json["error"] == "unsupported_grant_type"
    unknown = testapp.post("/oauth/token", {"grant_type": "authorization_code", "code": "x",
                                            "client_id": "fc_nobody"}, expect_errors=True)
    assert (unknown.status_int, unknown.json["error"]) in ((400, "invalid_client"),
                                                           (401, "invalid_client"))
    public = testapp.post("/oauth/token", {"grant_type": "client_credentials",
                                           "client_id": client.client_id}, expect_errors=True)
    assert public.status_int in (400, 401) and public.json["error"] == "invalid_client"


def test_metadata(testapp):
    body = testapp.get("/.well-known/oauth-authorization-server").json
    assert body["issuer"] == "http://localhost"
    assert body["token_endpoint"] == "http://localhost/oauth/token"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert "private_key_jwt" in body["token_endpoint_auth_methods_supported"]
    assert "site.attendance.write" in body["scopes_supported"]


def test_client_credentials_with_a_secret(testapp, dbsession):
    site = make_site(dbsession, NAGANO_CITY)
    client = make_client(dbsession, site, kind="confidential")
    testapp.authorization = ("Basic", (client.client_id, client.secret))
    body = testapp.post("/oauth/token", {"grant_type": "client_credentials",
                                         "scope": "site.attendance.read"}).json
    assert "refresh_token" not in body and body["scope"] == "site.attendance.read"
    testapp.authorization = None
    info = testapp.get("/api/v1/token-info", headers=bearer(body["access_token"])).json
    assert info["site_code"] == NAGANO_CITY and info["account_id"] is None
    by_post = testapp.post("/oauth/token", {"grant_type": "client_credentials",
                                            "client_id": client.client_id,
                                            "client_secret": client.secret}).json
    assert set(by_post["scope"].split()) == set(client.scopes)
    wrong = testapp.post("/oauth/token", {"grant_type": "client_credentials",
                                          "client_id": client.client_id,
                                          "client_secret": "fss_wrong"}, status=401)
    assert wrong.json["error"] == "invalid_client"
    assert testapp.post("/oauth/token", {"grant_type": "client_credentials",
                                         "client_id": client.client_id,
                                         "client_secret": client.secret, "scope": "profile"},
                        status=400).json["error"] == "invalid_scope"


def test_client_credentials_with_private_key_jwt_each_assertion_once(testapp, dbsession):
    site = make_site(dbsession, NAGANO_CITY)
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    client = make_client(dbsession, site, kind="confidential",
                         jwks={"keys": [key.as_dict(private=False)]})
    now = int(time.time())  # Authlib checks an assertion's times against the real clock
    assertion = jwt.encode({"alg": "RS256", "kid": "k1"}, {
        "iss": client.client_id, "sub": client.client_id, "jti": secrets.token_hex(8),
        "aud": "http://localhost/oauth/token", "iat": now, "exp": now + 300}, key)
    form = {"grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion}
    body = testapp.post("/oauth/token", form).json
    assert body["access_token"].startswith("fsa_")
    assert testapp.post("/oauth/token", form, status=400).json["error"] == "invalid_client"
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    forged = jwt.encode({"alg": "RS256", "kid": "k1"}, {
        "iss": client.client_id, "sub": client.client_id, "jti": "x2",
        "aud": "http://localhost/oauth/token", "iat": now, "exp": now + 300}, other)
    testapp.post("/oauth/token", {**form, "client_assertion": forged}, status=400)


def test_stopping_the_app_voids_a_code_not_yet_exchanged(signed_in, dbsession):
    client = make_client(dbsession)
    verifier, challenge = pkce()
    code = redirected_params(approve(signed_in, client, challenge))["code"]
    page = signed_in.get("/my/apps")
    next(f for f in page.forms.values() if f.action.endswith("/my/apps")).submit()
    exchange(signed_in, client, code, verifier, status=400)
