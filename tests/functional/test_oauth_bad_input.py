"""Odd input at the OAuth endpoints is refused with a 4xx and a clear body, never a 500."""
import pytest

from ..factories import NAGANO_CITY, make_account, make_site, sign_in
from ..oauth_factories import make_client

ODD_TOKEN_REQUESTS = [
    {},
    {"grant_type": ""},
    {"grant_type": "authorization_code"},
    {"grant_type": "authorization_code", "client_id": "x" * 5000, "code": "c"},
    {"grant_type": "authorization_code", "client_id": "{client}", "code": "c" * 3000,
     "code_verifier": "ü" * 50, "redirect_uri": "\u202e"},
    {"grant_type": "refresh_token", "client_id": "{client}"},
    {"grant_type": "refresh_token", "client_id": "{client}", "refresh_token": "fsr_x",
     "scope": "profile profile ✓"},
    {"grant_type": "client_credentials", "client_assertion_type":
     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": "a.b.c"},
    {"grant_type": "client_credentials", "client_assertion_type":
     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
     "client_assertion": "eyJhbGciOiJub25lIn0.eyJzdWIiOlsxXX0."},
    {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
]


@pytest.mark.parametrize("form", ODD_TOKEN_REQUESTS)
def test_odd_token_requests(testapp, dbsession, form):
    client = make_client(dbsession)
    form = {k: v.replace("{client}", client.client_id) for k, v in form.items()}
    answer = testapp.post("/oauth/token", form, expect_errors=True)
    assert 400 <= answer.status_int < 500
    assert answer.json["error"]


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + "QQ==", "Basic Og==", "Bearer x",
                                    "Basic " + "YTpi" * 2000])
def test_odd_client_authentication(testapp, dbsession, header):
    make_client(dbsession, make_site(dbsession, NAGANO_CITY), kind="confidential")
    answer = testapp.post("/oauth/token", {"grant_type": "client_credentials"},
                          headers={"Authorization": header}, expect_errors=True)
    assert 400 <= answer.status_int < 500 and answer.json["error"]


@pytest.mark.parametrize("form", [{}, {"token": ""}, {"token": "x", "token_type_hint": "id"},
                                  {"token": "x", "client_id": "fc_nobody"}])
def test_odd_revocations(testapp, dbsession, form):
    client = make_client(dbsession)
    answer = testapp.post("/oauth/revoke", {"client_id": client.client_id, **form},
                          expect_errors=True)
    assert answer.status_int in (200, 400, 401)
    if answer.status_int != 200:
        assert answer.json["error"]


@pytest.mark.parametrize("query", [
    "", "response_type=code", "client_id=%00", "client_id=" + "x" * 3000,
    "response_type=code&client_id={client}&redirect_uri=%E2%80%AE",
    "response_type=code&client_id={client}&redirect_uri=http://127.0.0.1:8765/callback"
    "&scope=profile&code_challenge=short&code_challenge_method=S256",
    "response_type=code&response_type=code&client_id={client}",
])
def test_odd_authorization_requests(testapp, dbsession, clock, app_settings, query):
    person = make_account(dbsession, "p@example.jp", kind="registrant")
    sign_in(testapp, dbsession, person, clock, app_settings)
    client = make_client(dbsession)
    answer = testapp.get("/oauth/authorize?" + query.replace("{client}", client.client_id),
                         expect_errors=True)
    assert answer.status_int in (302, 400)
    if answer.status_int == 302:
        assert "error=" in answer.headers["Location"]


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "bearer fsa_x", "Bearer a b",
                                    "Bearer " + "x" * 5000])
def test_odd_bearer_headers_are_401(testapp, header):
    answer = testapp.get("/api/v1/token-info", headers={"Authorization": header}, status=401)
    assert answer.content_type == "application/problem+json"
