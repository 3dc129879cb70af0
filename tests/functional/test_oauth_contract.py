"""The request-side contract of OAuth on /api/v1 (services/oauth): who a bearer token is,
the 401/403 answers with their WWW-Authenticate challenges, the rate limit, the audit of
municipal reads, and the OpenAPI document's security scheme."""
from contextlib import contextmanager
from datetime import timedelta

import pytest
import yaml
from pyramid.httpexceptions import HTTPForbidden
from pyramid.interfaces import ISecurityPolicy
from pyramid.request import Request
from pyramid.scripting import prepare
from sqlalchemy import select

from furusato_cms.models import AuditEntry
from furusato_cms.permissions import Permissions as P
from furusato_cms.resources.api import ApiContext, ApiSiteContext
from furusato_cms.services.oauth import SCOPES
from furusato_cms.views.api import SPEC_PATH, api_forbidden
from furusato_cms.views.oauth_api import audit_api_read

from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY, make_account, make_site, sign_in
from ..oauth_factories import bearer, make_client, make_token


@pytest.fixture
def person(dbsession):
    return make_account(dbsession, "person@example.jp", kind="registrant", name="登録 太郎")


def test_a_token_for_a_person_is_that_person_with_its_scopes(testapp, dbsession, person):
    client = make_client(dbsession)
    token = make_token(dbsession, client, person, scopes=["profile", "card"])
    answer = testapp.get("/api/v1/token-info", headers=bearer(token))
    assert answer.json == {
        "client_id": client.client_id, "client_name": "ふるさとアプリ",
        "scopes": ["card", "profile"], "account_id": person.id, "site_code": None,
        "expires_at": (NOW + timedelta(hours=1)).isoformat().replace("+00:00", "Z")}
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["RateLimit-Limit"] == "120"


def test_a_municipal_client_credentials_token_names_its_site(testapp, dbsession):
    site = make_site(dbsession, NAGANO_CITY)
    client = make_client(dbsession, site, kind="confidential")
    answer = testapp.get("/api/v1/token-info", headers=bearer(make_token(dbsession, client)))
    assert answer.json["site_code"] == NAGANO_CITY
    assert answer.json["account_id"] is None
    assert "site.attendance.read" in answer.json["scopes"]


def test_no_token_is_asked_for_with_a_bearer_challenge(testapp):
    answer = testapp.get("/api/v1/token-info", status=401)
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="furusato"'
    assert answer.content_type == "application/problem+json"
    assert answer.json["status"] == 401


@pytest.mark.parametrize("how", ["unknown", "expired", "revoked", "suspended", "disabled"])
def test_a_bad_token_is_invalid_token_on_every_endpoint(testapp, dbsession, person, how):
    client = make_client(dbsession, suspended=how == "suspended")
    token = make_token(dbsession, client, person, revoked=how == "revoked",
                       issued_at=NOW - timedelta(hours=2) if how == "expired" else None)
    if how == "unknown":
        token = "fsa_nothing-like-this"
    if how == "disabled":
        person.disabled_at = NOW
        dbsession.flush()
    for path in ("/api/v1/token-info", "/api/v1/sites"):
        answer = testapp.get(path, headers=bearer(token), status=401)
        assert answer.headers["WWW-Authenticate"] == (
            'Bearer realm="furusato", error="invalid_token"')
        assert answer.json["title"] == "アクセストークンが正しくありません"


def test_a_public_read_needs_no_token(testapp, dbsession):
    make_site(dbsession, NAGANO_CITY)
    assert testapp.get("/api/v1/sites").json["items"]


def test_the_sign_in_cookie_counts_for_nothing_under_the_api(testapp, dbsession, clock,
                                                             app_settings, person):
    sign_in(testapp, dbsession, person, clock, app_settings)
    testapp.get("/api/v1/token-info", status=401)


def test_over_the_rate_limit_is_429_with_retry_after(app, testapp, dbsession, person, clock):
    token = make_token(dbsession, make_client(dbsession), person)
    limit = app.registry["app_settings"].api_rate_per_minute
    for _ in range(limit):
        testapp.get("/api/v1/token-info", headers=bearer(token))
    answer = testapp.get("/api/v1/token-info", headers=bearer(token), status=429)
    assert answer.content_type == "application/problem+json"
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    clock.advance(timedelta(seconds=61))
    testapp.get("/api/v1/token-info", headers=bearer(token), status=200)


def test_each_person_of_one_app_has_their_own_limit(app, testapp, dbsession, person, clock):
    client = make_client(dbsession)
    other = make_account(dbsession, "other@example.jp", kind="registrant")
    limit = app.registry["app_settings"].api_rate_per_minute
    token = make_token(dbsession, client, person)
    for _ in range(limit):
        testapp.get("/api/v1/token-info", headers=bearer(token))
    testapp.get("/api/v1/token-info", headers=bearer(token), status=429)
    testapp.get("/api/v1/token-info", headers=bearer(make_token(dbsession, client, other)))


def test_the_document_lists_exactly_the_scopes_of_services_oauth():
    with open(SPEC_PATH, encoding="utf-8") as handle:
        flows = yaml.safe_load(handle)["components"]["securitySchemes"]["oauth2"]["flows"]
    listed = set(flows["authorizationCode"]["scopes"]) | set(flows["clientCredentials"]["scopes"])
    assert listed == set(SCOPES)


@contextmanager
def api_request(app, connection, clock, token, path="/api/v1/sites/202011/x", code=NAGANO_CITY):
    """A request under /api/v1 through the app's registry (policy, ACLs), with ``token``."""
    request = Request.blank(path, environ={
        "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1",
        "furusato.db_connection": connection, "furusato.clock": clock})
    if token:
        request.headers["Authorization"] = f"Bearer {token}"
    env = prepare(request=request, registry=app.registry)
    request.tm.begin()
    request.matchdict = {"code": code}
    try:
        yield request
    finally:
        request.tm.abort()
        env["closer"]()


def test_a_registrant_scope_is_allowed_only_to_a_token_holding_it(app, connection, clock,
                                                                  dbsession, person):
    client = make_client(dbsession)
    token = make_token(dbsession, client, person, scopes=["profile"])
    with api_request(app, connection, clock, token) as request:
        context = ApiContext(request)
        assert request.has_permission(P.API_PROFILE, context)
        assert request.has_permission(P.API_TOKEN, context)
        assert not request.has_permission(P.API_CARD, context)
        assert not request.has_permission(P.API_SITE_ATTENDANCE_READ, ApiSiteContext(request))
        assert not request.has_permission(P.API_SITE_ATTENDANCE_READ, ApiContext(request))
        assert request.has_permission(P.API_PROFILE, ApiSiteContext(request))
        principals = request.registry.getUtility(ISecurityPolicy).effective_principals(request)
        assert set(principals) >= {
            f"account:{person.id}", "oauth:scope:profile", f"oauth:client:{client.client_id}"}
        assert not any(p.startswith(("kind:", "site:", "role:")) for p in principals)


def test_a_site_scope_is_allowed_only_on_the_clients_own_site(app, connection, clock,
                                                              dbsession):
    nagano, matsumoto = make_site(dbsession, NAGANO_CITY), make_site(dbsession, MATSUMOTO)
    token = make_token(dbsession, make_client(dbsession, nagano, kind="confidential"),
                       scopes=["site.attendance.read"])
    with api_request(app, connection, clock, token, code=NAGANO_CITY) as request:
        own = ApiSiteContext(request)
        assert own.site.id == nagano.id
        assert request.has_permission(P.API_SITE_ATTENDANCE_READ, own)
        assert not request.has_permission(P.API_SITE_ATTENDANCE_WRITE, own)
        assert not request.has_permission(P.API_PROFILE, ApiContext(request))
        assert not request.has_permission(P.API_REGISTRATIONS, own)
        assert request.has_permission(P.API_SITE_ATTENDANCE_READ, ApiContext(request))
    with api_request(app, connection, clock, token, code=MATSUMOTO) as request:
        other = ApiSiteContext(request)
        assert other.site.id == matsumoto.id
        assert not request.has_permission(P.API_SITE_ATTENDANCE_READ, other)
        assert request.has_permission(P.VIEW, other)


def test_a_missing_scope_is_403_insufficient_scope_naming_it(app, connection, clock,
                                                             dbsession, person):
    token = make_token(dbsession, make_client(dbsession), person, scopes=["profile"])
    with api_request(app, connection, clock, token) as request:
        denied = request.has_permission(P.API_CARD, ApiContext(request))
        answer = api_forbidden(HTTPForbidden(result=denied), request)
    assert answer.status_int == 403
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer realm="furusato", error="insufficient_scope", scope="card"')
    assert answer.json["detail"] == (
        "この操作にはスコープ「card」が必要です。利用者（またはクライアントの登録者）に許可を求めてください。")


def test_another_sites_client_is_403_without_a_scope_challenge(app, connection, clock,
                                                               dbsession):
    nagano = make_site(dbsession, NAGANO_CITY)
    make_site(dbsession, MATSUMOTO)
    token = make_token(dbsession, make_client(dbsession, nagano, kind="confidential"))
    with api_request(app, connection, clock, token, code=MATSUMOTO) as request:
        denied = request.has_permission(P.API_SITE_REGISTRATIONS_READ, ApiSiteContext(request))
        answer = api_forbidden(HTTPForbidden(result=denied), request)
    assert answer.status_int == 403
    assert "WWW-Authenticate" not in answer.headers


def test_a_municipal_read_of_personal_data_is_audited_with_the_client(app, connection, clock,
                                                                       dbsession, person):
    site = make_site(dbsession, NAGANO_CITY)
    client = make_client(dbsession, site, kind="confidential")
    with api_request(app, connection, clock, make_token(dbsession, client)) as request:
        audit_api_read(request, [person.id, person.id], "registrations")
        request.dbsession.flush()
        entry = request.dbsession.scalar(select(AuditEntry).where(AuditEntry.action == "api.read"))
        assert (entry.site_id, entry.target_id, entry.actor_label) == (
            site.id, client.client_id, f"api:{client.client_id}")
        assert entry.detail["accounts"] == [person.id]
        assert entry.detail["what"] == "registrations"


def test_a_persons_own_app_reading_their_data_is_not_audited(app, connection, clock,
                                                              dbsession, person):
    token = make_token(dbsession, make_client(dbsession), person)
    with api_request(app, connection, clock, token) as request:
        assert audit_api_read(request, [person.id], "profile") is None
