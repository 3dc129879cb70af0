"""The OAuth services without HTTP: token hashing, expiry on the clock, refresh rotation
and reuse detection, the rate limit's window, redirect URI and registration rules."""
import dataclasses
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import OAuthToken
from furusato_cms.services.audit import Actor
from furusato_cms.services.authentication import hash_token
from furusato_cms.services.errors import InvalidInput
from furusato_cms.services.oauth import TokenService, scope_list
from furusato_cms.services.oauth.clients import ClientService, redirect_uri_problem
from furusato_cms.services.oauth.ratelimit import ApiRateLimiter
from furusato_cms.services.oauth.scopes import scope_of_permission
from furusato_cms.services.oauth.server import redirect_uri_matches

from ..factories import NAGANO_CITY, make_account, make_site
from ..oauth_factories import make_client
from ..script_support import script_database, write_ini  # noqa: F401


@pytest.fixture
def tokens(dbsession, clock, app_settings):
    return TokenService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def person(dbsession):
    return make_account(dbsession, "p@example.jp", kind="registrant")


def test_only_the_hashes_of_tokens_are_stored(dbsession, tokens, person):
    issued = tokens.issue(make_client(dbsession), person.id, "profile card")
    row = dbsession.scalar(select(OAuthToken))
    assert row.access_token_hash == hash_token(issued.access_token) != issued.access_token
    assert row.refresh_token_hash == hash_token(issued.refresh_token)
    assert len(issued.access_token) > 40 and issued.access_token.startswith("fsa_")


def test_a_token_works_until_its_hour_is_over(dbsession, tokens, clock, person):
    issued = tokens.issue(make_client(dbsession), person.id, "profile")
    assert tokens.grant_for(issued.access_token).account.id == person.id
    clock.advance(timedelta(minutes=59, seconds=59))
    assert tokens.grant_for(issued.access_token) is not None
    clock.advance(timedelta(seconds=1))
    assert tokens.grant_for(issued.access_token) is None


def test_access_tokens_never_live_longer_than_an_hour(dbsession, clock, app_settings, person):
    settings = dataclasses.replace(app_settings, oauth_access_token_seconds=86400)
    service = TokenService(dbsession, clock=clock, settings=settings)
    issued = service.issue(make_client(dbsession), person.id, "profile")
    assert issued.expires_in == 3600
    assert issued.row.access_expires_at == clock() + timedelta(hours=1)


def test_a_grant_knows_its_client_person_site_and_scopes(dbsession, tokens):
    site = make_site(dbsession, NAGANO_CITY)
    client = make_client(dbsession, site, kind="confidential")
    issued = tokens.issue(client, None, "site.attendance.read nonsense", refresh=False)
    grant = tokens.grant_for(issued.access_token)
    assert (grant.client.id, grant.account, grant.site_id) == (client.id, None, site.id)
    assert grant.scopes == frozenset({"site.attendance.read"})
    assert issued.refresh_token is None


@pytest.mark.parametrize("what", ["revoked", "suspended", "disabled", "site_suspended"])
def test_no_grant_for_a_dead_token(dbsession, tokens, clock, person, what):
    site = make_site(dbsession, NAGANO_CITY)
    client = make_client(dbsession, site)
    issued = tokens.issue(client, person.id, "profile")
    if what == "revoked":
        tokens.revoke_family(issued.row.family_id)
    elif what == "suspended":
        client.suspended_at = clock()
    elif what == "disabled":
        person.disabled_at = clock()
    else:
        site.state = "suspended"
    dbsession.flush()
    dbsession.expire_all()
    assert tokens.grant_for(issued.access_token) is None
    assert tokens.grant_for("") is None and tokens.grant_for("fsa_unknown") is None


def test_a_refresh_token_is_claimed_once_and_its_reuse_revokes_the_family(dbsession, tokens,
                                                                          person):
    client = make_client(dbsession)
    first = tokens.issue(client, person.id, "profile")
    assert tokens.claim_refresh(first.row)
    second = tokens.issue(client, person.id, "profile", family_id=first.row.family_id)
    assert tokens.grant_for(second.access_token) is not None
    assert not tokens.claim_refresh(first.row)
    dbsession.expire_all()
    assert tokens.grant_for(second.access_token) is None
    assert not tokens.claim_refresh(second.row)


def test_an_expired_refresh_token_is_refused_without_revoking_anything(dbsession, tokens, clock,
                                                                       person):
    client = make_client(dbsession)
    issued = tokens.issue(client, person.id, "profile")
    other = tokens.issue(client, person.id, "profile", family_id=issued.row.family_id)
    clock.advance(timedelta(days=31))
    assert not tokens.claim_refresh(issued.row)
    assert other.row.revoked_at is None


def test_a_refresh_token_belongs_to_its_client(dbsession, tokens, person):
    client, other = make_client(dbsession), make_client(dbsession)
    issued = tokens.issue(client, person.id, "profile")
    assert tokens.by_refresh_token(issued.refresh_token, other) is None
    assert tokens.by_refresh_token(issued.refresh_token, client).id == issued.row.id


def test_the_rate_window_counts_and_starts_again_after_a_minute(dbsession, clock,
                                                                 app_settings):
    limiter = ApiRateLimiter(dbsession, clock=clock,
                             settings=dataclasses.replace(app_settings, api_rate_per_minute=2))
    assert [limiter.count("k").allowed for _ in range(3)] == [True, True, False]
    clock.advance(timedelta(seconds=20))
    refused = limiter.count("k")
    assert not refused.allowed and refused.retry_after == 40
    assert limiter.count("other").allowed
    clock.advance(timedelta(seconds=40))
    assert limiter.count("k").allowed


@pytest.mark.parametrize("uri,ok", [
    ("https://app.example.jp/cb", True),
    ("http://127.0.0.1:8000/cb", True),
    ("http://[::1]/cb", True),
    ("http://localhost:3000/cb", True),
    ("jp.example.app:/callback", True),
    ("http://app.example.jp/cb", False),
    ("https://app.example.jp/cb#frag", False),
    ("javascript:alert(1)", False),
    ("myapp:/cb", False),
    ("/relative", False),
])
def test_redirect_uri_rules(uri, ok):
    assert (redirect_uri_problem(uri) is None) == ok


def test_redirect_uris_match_exactly_but_for_a_loopback_port():
    registered = ["http://127.0.0.1/callback", "https://app.example.jp/cb"]
    assert redirect_uri_matches(registered, "https://app.example.jp/cb")
    assert redirect_uri_matches(registered, "http://127.0.0.1:53124/callback")
    assert not redirect_uri_matches(registered, "https://app.example.jp/cb/")
    assert not redirect_uri_matches(registered, "https://app.example.jp:8443/cb")
    assert not redirect_uri_matches(registered, "http://127.0.0.1:5/callback?x=1")
    assert not redirect_uri_matches(registered, "http://localhost:5/callback")
    assert not redirect_uri_matches(registered, None)


def test_registration_rules(dbsession, clock, app_settings):
    service = ClientService(dbsession, clock=clock, settings=app_settings)
    actor, site = Actor.system(), make_site(dbsession, NAGANO_CITY)
    ok = dict(name="アプリ", owner_name="市", kind="public",
              redirect_uris=["https://a.example.jp/cb"], scopes=["profile"])
    assert service.register(actor, **ok).secret is None
    refused = [
        {**ok, "scopes": ["site.attendance.read"]},
        {**ok, "site": site, "scopes": ["site.attendance.read"]},
        {**ok, "redirect_uris": []},
        {**ok, "auth_method": "client_secret"},
        {**ok, "kind": "confidential", "auth_method": "none"},
        {**ok, "kind": "confidential", "auth_method": "private_key_jwt", "jwks": ""},
        {**ok, "scopes": []},
        {**ok, "redirect_uris": [f"https://a.example.jp/{n}" for n in range(11)]},
    ]
    for values in refused:
        with pytest.raises(InvalidInput):
            service.register(actor, **values)
    town = service.register(actor, site=site, name="市のサーバー", owner_name="長野市",
                            kind="confidential", auth_method="client_secret",
                            scopes=["site.registrations.read"])
    assert town.secret.startswith("fss_") and town.client.secret_hash == hash_token(town.secret)


def test_scopes_are_known_ordered_and_once():
    assert scope_list("inbox profile bogus profile") == ["profile", "inbox"]
    assert scope_of_permission("api:scope:card") == "card"
    assert scope_of_permission("site:content:edit") is None
    assert scope_of_permission(None) is None


def test_housekeeping_deletes_only_what_can_no_longer_be_used(dbsession, tokens, clock,
                                                              app_settings, person):
    from furusato_cms.services.oauth.housekeeping import OAuthHousekeeping

    client = make_client(dbsession)
    old_id = tokens.issue(client, person.id, "profile").row.id
    ApiRateLimiter(dbsession, clock=clock, settings=app_settings).count("old-window")
    clock.advance(timedelta(days=40))
    fresh = tokens.issue(client, person.id, "profile")
    summary = OAuthHousekeeping(dbsession, clock=clock, settings=app_settings).purge()
    assert summary["tokens"] == 1 and summary["rate_windows"] == 1
    dbsession.expire_all()
    assert dbsession.get(OAuthToken, old_id) is None
    assert tokens.grant_for(fresh.access_token) is not None


def test_the_purge_command_prints_what_it_deleted(script_database, tmp_path, capsys):
    from furusato_cms.scripts import oauth_purge

    url, _engine = script_database
    oauth_purge.main([str(write_ini(tmp_path / "purge.ini", url)), "--at",
                      "2026-11-25T12:00:00+09:00"])
    assert json.loads(capsys.readouterr().out) == {
        "codes": 0, "tokens": 0, "assertion_ids": 0, "rate_windows": 0}
