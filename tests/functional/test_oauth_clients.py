"""Registering apps: the operator's national apps, a site admin's apps of their site;
the secret shown once, rotation, suspension, the audit log, and who may do it."""
import json

import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import select

from furusato_cms.models import AuditEntry, OAuthClient
from furusato_cms.services.authentication import hash_token

from ..factories import MATSUMOTO, NAGANO_CITY, make_account, make_site, make_staff, sign_in
from ..oauth_factories import bearer, make_client, make_token


@pytest.fixture
def nagano(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def admin(testapp, dbsession, clock, app_settings, nagano):
    sign_in(testapp, dbsession, make_staff(dbsession, nagano, "site_admin"), clock, app_settings)
    return testapp


@pytest.fixture
def operator(testapp, dbsession, clock, app_settings):
    account = make_account(dbsession, "op@example.jp", is_operator=True)
    sign_in(testapp, dbsession, account, clock, app_settings)
    return testapp


def input_name(form, name):
    """deform names a radio group after its widget (``__start__ = <name>:rename`` first)."""
    order = form.field_order
    for index, (field_name, field) in enumerate(order):
        if field_name == "__start__" and field.value == f"{name}:rename":
            return order[index + 1][0]
    return name


def fill(form, *, name="ながのアプリ", owner="長野市", kind="public", auth="none",
         uris="http://127.0.0.1:8765/callback", scopes=("profile",), jwks=""):
    form["name"], form["owner_name"] = name, owner
    form[input_name(form, "kind")] = kind
    form[input_name(form, "auth_method")] = auth
    form["redirect_uris"], form["jwks"] = uris, jwks
    form["checkbox"] = list(scopes)
    return form


def form_to(page, suffix):
    return next(form for form in page.forms.values() if form.action.endswith(suffix))


def scope_boxes(form):
    return {field._value for field in form.fields.get("checkbox", [])}


def test_a_site_admin_registers_a_public_app(admin, dbsession, nagano):
    page = admin.get(f"/s/{NAGANO_CITY}/clients/")
    assert "site.attendance.read" in scope_boxes(page.forms["deform"])
    answer = fill(page.forms["deform"], scopes=("profile", "card")).submit("register")
    client = dbsession.scalar(select(OAuthClient).where(OAuthClient.site_id == nagano.id))
    assert client.client_id in answer.text and client.kind == "public"
    assert client.redirect_uris == ["http://127.0.0.1:8765/callback"]
    assert client.scopes == ["profile", "card"] and client.secret_hash is None
    assert answer.headers["Cache-Control"].startswith("no-store")
    audit = dbsession.scalar(select(AuditEntry).where(AuditEntry.action == "oauth_client.register"))
    assert audit.site_id == nagano.id and audit.target_id == str(client.id)


def test_a_confidential_apps_secret_is_shown_once_and_stored_hashed(admin, dbsession, nagano):
    page = admin.get(f"/s/{NAGANO_CITY}/clients/")
    answer = fill(page.forms["deform"], kind="confidential", auth="client_secret", uris="",
                  scopes=("site.attendance.read", "site.registrations.read")).submit("register")
    secret = answer.html.find(id="client-secret").text
    client = dbsession.scalar(select(OAuthClient).where(OAuthClient.site_id == nagano.id))
    assert secret.startswith("fss_") and client.secret_hash == hash_token(secret)
    detail = admin.get(f"/s/{NAGANO_CITY}/clients/{client.client_id}")
    assert secret not in detail.text
    admin.post(f"/oauth/token", {"grant_type": "client_credentials",
                                 "client_id": client.client_id, "client_secret": secret})


def test_rotating_the_secret_ends_the_old_one(admin, dbsession, nagano):
    client = make_client(dbsession, nagano, kind="confidential")
    old = client.secret
    detail = admin.get(f"/s/{NAGANO_CITY}/clients/{client.client_id}")
    answer = form_to(detail, "/rotate").submit()
    new = answer.html.find(id="client-secret").text
    assert new != old
    form = {"grant_type": "client_credentials", "client_id": client.client_id}
    admin.post("/oauth/token", {**form, "client_secret": old}, status=401)
    admin.post("/oauth/token", {**form, "client_secret": new})
    assert dbsession.scalar(select(AuditEntry).where(
        AuditEntry.action == "oauth_client.rotate_secret")) is not None


def test_a_public_app_has_no_secret_to_rotate(admin, dbsession, nagano):
    client = make_client(dbsession, nagano)
    detail = admin.get(f"/s/{NAGANO_CITY}/clients/{client.client_id}")
    assert not [f for f in detail.forms.values() if f.action.endswith("/rotate")]
    admin.post(f"/s/{NAGANO_CITY}/clients/{client.client_id}/rotate",
               {"csrf_token": form_to(detail, "/suspend")["csrf_token"].value}, status=400)


def test_suspending_stops_its_tokens_and_resuming_lets_them_work(admin, dbsession, nagano):
    client = make_client(dbsession, nagano, kind="confidential")
    token = make_token(dbsession, client)
    detail = admin.get(f"/s/{NAGANO_CITY}/clients/{client.client_id}")
    form_to(detail, "/suspend").submit().follow()
    admin.get("/api/v1/token-info", headers=bearer(token), status=401)
    detail = admin.get(f"/s/{NAGANO_CITY}/clients/{client.client_id}")
    form_to(detail, "/resume").submit().follow()
    admin.get("/api/v1/token-info", headers=bearer(token), status=200)
    actions = dbsession.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("oauth_client.%"))).all()
    assert {"oauth_client.suspend", "oauth_client.resume"} <= set(actions)


@pytest.mark.parametrize("change,field_text", [
    ({"name": ""}, "name"),
    ({"uris": "http://example.jp/cb"}, "loopback"),
    ({"uris": "https://example.jp/cb#x"}, "#"),
    ({"uris": ""}, "redirect"),
    ({"scopes": ()}, "scope"),
    ({"kind": "public", "auth": "client_secret"}, "secret"),
    ({"kind": "confidential", "auth": "private_key_jwt", "jwks": "{}"}, "JWK"),
])
def test_bad_registrations_show_the_field_error(admin, dbsession, change, field_text):
    page = admin.get(f"/s/{NAGANO_CITY}/clients/")
    answer = fill(page.forms["deform"], **change).submit("register", status=400)
    assert answer.html.select(".error, .has-error, [role=alert], .errorMsg")
    assert dbsession.scalar(select(OAuthClient)) is None


def test_private_keys_are_refused_and_public_ones_kept(admin, dbsession, nagano):
    key = RSAKey.generate_key(2048)
    page = admin.get(f"/s/{NAGANO_CITY}/clients/")
    fill(page.forms["deform"], kind="confidential", auth="private_key_jwt", uris="",
         scopes=("site.attendance.read",),
         jwks=json.dumps({"keys": [key.as_dict(private=True)]})).submit("register", status=400)
    page = admin.get(f"/s/{NAGANO_CITY}/clients/")
    fill(page.forms["deform"], kind="confidential", auth="private_key_jwt", uris="",
         scopes=("site.attendance.read",),
         jwks=json.dumps({"keys": [key.as_dict(private=False)]})).submit("register")
    client = dbsession.scalar(select(OAuthClient))
    assert client.jwks["keys"][0]["n"] == key.as_dict(private=False)["n"]
    assert "d" not in client.jwks["keys"][0]


def test_the_operator_registers_national_apps_without_site_scopes(operator, dbsession):
    page = operator.get("/operator/clients/")
    assert "site.attendance.read" not in scope_boxes(page.forms["deform"])
    fill(page.forms["deform"], scopes=("profile", "registrations")).submit("register")
    client = dbsession.scalar(select(OAuthClient))
    assert client.site_id is None and client.scopes == ["profile", "registrations"]
    assert "ながのアプリ" in operator.get("/operator/clients/").text


def test_a_forged_site_scope_for_a_national_app_is_refused(operator, dbsession):
    page = operator.get("/operator/clients/")
    form = fill(page.forms["deform"])
    fields = form.submit_fields()
    at = fields.index(("checkbox", "profile"))
    fields.insert(at, ("checkbox", "site.attendance.read"))
    operator.post("/operator/clients/", fields, status=400)
    assert dbsession.scalar(select(OAuthClient)) is None


@pytest.mark.parametrize("who", ["editor", "coordinator", "registrant", "other_admin",
                                 "anonymous_post"])
def test_only_the_sites_admin_manages_its_apps(testapp, dbsession, clock, app_settings, nagano,
                                               who):
    matsumoto = make_site(dbsession, MATSUMOTO)
    client = make_client(dbsession, nagano)
    if who == "registrant":
        account = make_account(dbsession, "r@example.jp", kind="registrant")
    elif who == "other_admin":
        account = make_staff(dbsession, matsumoto, "site_admin")
    elif who != "anonymous_post":
        account = make_staff(dbsession, nagano, who)
    if who != "anonymous_post":
        sign_in(testapp, dbsession, account, clock, app_settings)
        testapp.get(f"/s/{NAGANO_CITY}/clients/", status=403)
        testapp.get(f"/s/{NAGANO_CITY}/clients/{client.client_id}", status=403)
    testapp.post(f"/s/{NAGANO_CITY}/clients/{client.client_id}/suspend", status=(400, 403))
    assert client.suspended_at is None


def test_one_sites_app_is_not_found_under_another_site(testapp, dbsession, clock, app_settings,
                                                       nagano):
    matsumoto = make_site(dbsession, MATSUMOTO)
    sign_in(testapp, dbsession, make_staff(dbsession, matsumoto, "site_admin"), clock,
            app_settings)
    client = make_client(dbsession, nagano)
    testapp.get(f"/s/{MATSUMOTO}/clients/{client.client_id}", status=404)


def test_a_site_admin_cannot_reach_the_national_apps(admin, dbsession):
    national = make_client(dbsession)
    admin.get("/operator/clients/", status=403)
    admin.get(f"/s/{NAGANO_CITY}/clients/{national.client_id}", status=404)


def test_the_dashboard_links_to_the_apps(admin):
    assert f"/s/{NAGANO_CITY}/clients/" in admin.get(f"/s/{NAGANO_CITY}/manage").text


def test_registering_needs_the_csrf_token(admin, dbsession):
    page = admin.get(f"/s/{NAGANO_CITY}/clients/")
    form = fill(page.forms["deform"])
    fields = [(k, v) for k, v in form.submit_fields() if k != "csrf_token"]
    admin.post(f"/s/{NAGANO_CITY}/clients/", fields, status=400)
    assert dbsession.scalar(select(OAuthClient)) is None


def test_suspending_needs_the_csrf_token(admin, dbsession, nagano):
    client = make_client(dbsession, nagano)
    admin.post(f"/s/{NAGANO_CITY}/clients/{client.client_id}/suspend", status=400)
    assert client.suspended_at is None
