"""The local OpenID Connect provider (furusato-dev-oidc), exercised as a real process: the
code flow the app will use, the refusals it must meet, and the faults it can provoke."""
import json
import os
import stat
import time
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwk, jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from webob import Request

from furusato_cms.devtools.oidc_provider import (
    ASSERTION_TYPE, CODE_LIFETIME, Provider, make_clock,
)
from furusato_cms.devtools.oidc_registry import ensure_client, load_or_create_key, load_people

from ..devtools_fixtures import oidc_provider  # noqa: F401  (the fixture)

REDIRECT_URI = "http://127.0.0.1:6543/my/identity/callback"
SCOPE = "openid name address birthdate gender"
PROFILE_CLAIMS = {"name", "address", "birthdate", "gender"}


@pytest.fixture(scope="module")
def provider(oidc_provider):  # noqa: F811
    oidc_provider.register_redirect_uri(REDIRECT_URI)
    return oidc_provider


def authorization_url(provider, client_id=None, **overrides):
    params = {
        "response_type": "code", "client_id": client_id or provider.client_id,
        "redirect_uri": REDIRECT_URI, "scope": SCOPE, "state": "state-1", "nonce": "nonce-1",
        "code_challenge": create_s256_code_challenge("v" * 43), "code_challenge_method": "S256",
    }
    params.update(overrides)
    return provider.authorization_endpoint + "?" + urlencode(
        {k: v for k, v in params.items() if v is not None})


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def code_for(provider, person="tokyo-adult", verifier="v" * 43, **overrides) -> str:
    url = authorization_url(provider, code_challenge=create_s256_code_challenge(verifier),
                            **overrides)
    return query(provider.choose_person(url, person))["code"]


def exchange(provider, code, verifier="v" * 43, assertion=None):
    return requests.post(provider.token_endpoint, timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion or provider.client_assertion(),
    })


def provider_keys(provider):
    return jwk.KeySet.import_key_set(requests.get(provider.jwks_uri, timeout=10).json())


def id_claims(provider, id_token) -> dict:
    """The ID token's claims once its signature is verified with the provider's keys."""
    return jwt.decode(id_token, provider_keys(provider), algorithms=["RS256"]).claims


def validated_claims(provider, id_token, nonce) -> dict:
    claims = id_claims(provider, id_token)
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id},
        nonce={"essential": True, "value": nonce},
    ).validate(claims)
    return claims


def signed(header, claims, private) -> str:
    return jwt.encode(header, claims, jwk.import_key(private), algorithms=[header["alg"]])


def test_discovery_describes_the_my_number_card_profile(provider):
    config = requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert config["issuer"] == provider.issuer
    assert config["token_endpoint"] == provider.token_endpoint
    assert config["jwks_uri"] == provider.jwks_uri
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(config["scopes_supported"]) == {"openid"} | PROFILE_CLAIMS


def test_full_code_flow_with_an_authlib_client(provider):
    session = OAuth2Session(
        provider.client_id, provider.private_jwk, scope=SCOPE, redirect_uri=REDIRECT_URI,
        token_endpoint_auth_method=PrivateKeyJWT(provider.token_endpoint),
        code_challenge_method="S256")
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = session.create_authorization_url(
        provider.authorization_endpoint, code_verifier=verifier, nonce=nonce)

    callback = provider.choose_person(url, "nagano-adult")
    assert callback.startswith(REDIRECT_URI + "?")
    assert query(callback)["state"] == state
    token = session.fetch_token(provider.token_endpoint, authorization_response=callback,
                                code_verifier=verifier)

    assert token["token_type"] == "Bearer"
    claims = validated_claims(provider, token["id_token"], nonce)
    person = provider.people["nagano-adult"]
    assert claims["sub"] == person["sub"]
    assert claims["name"] == "佐藤 花子"
    assert claims["address"]["postal_code"] == "380-0851"
    assert claims["address"]["locality"] == "長野市"
    assert claims["birthdate"] == "1990-08-03"
    assert claims["gender"] == "female"
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                           *PROFILE_CLAIMS}
    userinfo = session.get(provider.userinfo_endpoint, timeout=10).json()
    assert userinfo == {"sub": person["sub"], **{c: claims[c] for c in PROFILE_CLAIMS}}


def test_scope_limits_the_claims(provider):
    code = code_for(provider, scope="openid birthdate")
    claims = id_claims(provider, exchange(provider, code).json()["id_token"])
    assert "birthdate" in claims
    assert not {"name", "address", "gender"} & set(claims)


def test_chooser_page_lists_every_person_and_labels_the_faults(provider):
    page = requests.get(authorization_url(provider), timeout=10).text
    for person in provider.people.values():
        assert person["name"] in page
    assert page.count("Test fault:") == 4
    assert '<html lang="ja">' in page


def test_unregistered_redirect_uri_is_shown_never_redirected(provider):
    answer = requests.get(authorization_url(provider, redirect_uri="https://evil.example/cb"),
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert "redirect_uri" in answer.text


@pytest.mark.parametrize("overrides, error", [
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": None, "code_challenge": None}, "invalid_request"),
    ({"nonce": None}, "invalid_request"),
    ({"scope": "name address"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
])
def test_request_errors_go_back_to_a_registered_redirect_uri(provider, overrides, error):
    answer = requests.get(authorization_url(provider, **overrides), allow_redirects=False,
                          timeout=10)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(REDIRECT_URI)
    assert query(answer.headers["Location"])["error"] == error
    assert query(answer.headers["Location"])["state"] == "state-1"


def test_cancel_answers_access_denied(provider):
    assert query(provider.cancel(authorization_url(provider)))["error"] == "access_denied"


def test_pkce_mismatch_is_refused(provider):
    answer = exchange(provider, code_for(provider, verifier="a" * 43), verifier="b" * 43)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_a_code_works_once_and_reuse_revokes_its_token(provider):
    code = code_for(provider)
    first = exchange(provider, code)
    assert first.status_code == 200
    bearer = {"Authorization": "Bearer " + first.json()["access_token"]}
    assert requests.get(provider.userinfo_endpoint, headers=bearer, timeout=10).ok

    second = exchange(provider, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert requests.get(provider.userinfo_endpoint, headers=bearer, timeout=10).status_code == 401


def another_private_key():
    return jwk.generate_key("RSA", 2048, private=True, auto_kid=True).as_dict(private=True,
                                                                              alg="RS256")


@pytest.mark.parametrize("defect", [
    lambda p: p.client_assertion(key=another_private_key()),
    lambda p: p.client_assertion(aud="https://somewhere-else.example/token"),
    lambda p: p.client_assertion(exp=int(time.time()) - 10, iat=int(time.time()) - 70),
    lambda p: p.client_assertion(sub="someone-else"),
    lambda p: "not-a-jwt",
], ids=["wrong-signature", "wrong-audience", "expired", "sub-not-client", "garbage"])
def test_bad_client_assertions_are_refused(provider, defect):
    answer = exchange(provider, code_for(provider), assertion=defect(provider))
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_a_client_assertion_cannot_be_replayed(provider):
    assertion = provider.client_assertion()
    assert exchange(provider, code_for(provider), assertion=assertion).status_code == 200
    replay = exchange(provider, code_for(provider), assertion=assertion)
    assert replay.status_code == 401
    assert "jti" in replay.json()["error_description"]


def test_es256_clients_are_accepted(provider, tmp_path):
    private = ensure_client(str(provider.clients_path), "es-client", alg="ES256",
                            key_path=str(tmp_path / "es-key.json"), redirect_uris=[REDIRECT_URI])
    code = code_for(provider, client_id="es-client")
    assertion = signed({"alg": "ES256", "kid": private["kid"]}, {
        "iss": "es-client", "sub": "es-client", "aud": provider.issuer,
        "exp": int(time.time()) + 60, "jti": generate_token(20)}, private)
    answer = exchange(provider, code, assertion=assertion)
    assert answer.status_code == 200
    assert id_claims(provider, answer.json()["id_token"])["aud"] == "es-client"


@pytest.mark.parametrize("person, refusal, claim", [
    ("fault-bad-signature", BadSignatureError, None),
    ("fault-wrong-nonce", InvalidClaimError, "nonce"),
    ("fault-expired", ExpiredTokenError, "exp"),
    ("fault-wrong-audience", InvalidClaimError, "aud"),
])
def test_fault_people_produce_the_promised_fault(provider, person, refusal, claim):
    answer = exchange(provider, code_for(provider, person=person))
    assert answer.status_code == 200
    with pytest.raises(refusal) as caught:
        validated_claims(provider, answer.json()["id_token"], "nonce-1")
    assert getattr(caught.value, "claim", None) == claim


def test_userinfo_needs_a_valid_bearer_token(provider):
    assert requests.get(provider.userinfo_endpoint, timeout=10).status_code == 401
    bogus = {"Authorization": "Bearer nothing-issued"}
    answer = requests.get(provider.userinfo_endpoint, headers=bogus, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"


def test_only_the_authorization_code_grant(provider):
    answer = requests.post(provider.token_endpoint, data={"grant_type": "password"}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


# --- in process: key persistence, code expiry, the people file -----------------------------

def test_signing_key_is_created_once_and_private_to_its_owner(tmp_path):
    path = tmp_path / "keys" / "provider.json"
    first = load_or_create_key(str(path))
    assert load_or_create_key(str(path)) == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert first["kid"] and first["d"]


def test_codes_expire(tmp_path):
    clients, now = str(tmp_path / "clients.json"), [int(time.time())]
    client = ensure_client(clients, "c", key_path=str(tmp_path / "c.json"),
                           redirect_uris=[REDIRECT_URI])
    app = Provider("http://issuer.test", signing_key=load_or_create_key(str(tmp_path / "k.json")),
                   people=load_people(), clients_path=clients, clock=lambda: now[0])
    fields = {"response_type": "code", "client_id": "c", "redirect_uri": REDIRECT_URI,
              "scope": "openid", "state": "s", "nonce": "n", "code_challenge_method": "S256",
              "code_challenge": create_s256_code_challenge("v" * 43), "person": "tokyo-adult"}
    chosen = Request.blank("/authorize", POST=fields).get_response(app)
    now[0] += CODE_LIFETIME + 1
    assertion = signed({"alg": "RS256"}, {
        "iss": "c", "sub": "c", "aud": "http://issuer.test/token", "exp": now[0] + 60,
        "jti": generate_token(20)}, client)
    answer = Request.blank("/token", POST={
        "grant_type": "authorization_code", "code": query(chosen.location)["code"],
        "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 43,
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion,
    }).get_response(app)
    assert answer.status_code == 400
    assert answer.json["error"] == "invalid_grant"


def test_frozen_clock_stands_at_the_given_instant():
    assert make_clock("2026-11-25T03:00:00")() == 1795575600
    assert make_clock("2026-11-25T12:00:00+09:00")() == 1795575600


def age_on(birthdate: str, day: date) -> int:
    born = date.fromisoformat(birthdate)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def test_test_people_cover_the_cases_the_app_needs():
    people = {p["key"]: p for p in load_people()}
    assert age_on(people["tokyo-minor"]["birthdate"], date(2026, 11, 25)) < 18
    adults = [p for p in people.values() if p["key"] != "tokyo-minor"]
    assert all(age_on(p["birthdate"], date(2026, 11, 25)) >= 18 for p in adults)
    postal_codes = {p["address"]["postal_code"] for p in people.values()}
    assert {"100-0001", "380-0851", "390-0874"} <= postal_codes
    assert any(p["address"]["region"] == "北海道" and p["address"]["locality"].startswith("札幌市")
               for p in people.values())
    assert len({p["sub"] for p in people.values()}) == len(people)


def test_people_file_refuses_fields_beyond_the_allowed_claims(tmp_path):
    person = dict(load_people()[0], my_number="123456789012")
    path = tmp_path / "people.json"
    path.write_text(json.dumps([person]), encoding="utf-8")
    with pytest.raises(ValueError, match="my_number"):
        load_people(str(path))
