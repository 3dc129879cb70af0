"""The site admin's webhook screens: add an endpoint and see its secret once, edit,
disable and enable, rotate, read the delivery log and replay — and nobody else (another
site's admin, a coordinator, a registrant) reaches any of it."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, WebhookAttempt, WebhookDelivery, WebhookEndpoint

from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant
from ..sites_factories import form_with_action, signed_in_staff

BASE = f"/s/{NAGANO_CITY}/webhooks"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY, joined_on=date(2027, 4, 1))


@pytest.fixture
def admin(testapp, dbsession, clock, app_settings, site):
    return signed_in_staff(testapp, dbsession, clock, app_settings, site, "site_admin")


def add_endpoint(testapp, url="https://example.lg.jp/furusato/events",
                 events=("registration.created", "attendance.recorded"), status=200):
    form = testapp.get(f"{BASE}/new").forms["deform"]
    form["url"] = url
    for field in form.fields["checkbox"]:
        field.checked = field._value in events
    return form.submit("save", status=status)


def endpoint_of(dbsession, site) -> WebhookEndpoint:
    dbsession.expire_all()
    return dbsession.scalars(select(WebhookEndpoint).where(WebhookEndpoint.site_id == site.id)
                             .order_by(WebhookEndpoint.id.desc())).first()


def shown_secret(page) -> str:
    return page.html.select_one("#signing-secret").text.strip()


def test_the_site_admin_adds_an_endpoint_and_sees_the_secret_once(testapp, dbsession, site,
                                                                  admin):
    dashboard = testapp.get(f"/s/{NAGANO_CITY}/manage")
    assert f"{BASE}/" in dashboard.text and "ウェブフック" in dashboard.text
    assert "まだありません" in testapp.get(f"{BASE}/").text
    form_page = testapp.get(f"{BASE}/new").text
    assert "通知を受け取るURL" in form_page and "プレミアム登録が終わったとき" in form_page

    page = add_endpoint(testapp)
    endpoint = endpoint_of(dbsession, site)
    secret = shown_secret(page)
    assert secret == endpoint.secret and re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    assert "一度だけ" in page.text
    assert "no-store" in page.headers["Cache-Control"]
    assert endpoint.event_types == ["attendance.recorded", "registration.created"]

    listing = testapp.get(f"{BASE}/")
    detail = testapp.get(f"{BASE}/{endpoint.id}/")
    for later in (listing, detail):
        assert secret not in later.text and "example.lg.jp" in later.text
    assert "出席が記録されたとき" in detail.text
    entry = dbsession.scalar(select(AuditEntry).where(
        AuditEntry.action == "webhooks.endpoint_create"))
    assert entry.actor_id == admin.id and secret not in str(entry.detail)


def test_bad_urls_and_no_events_are_refused_on_their_fields(testapp, dbsession, site, admin):
    page = add_endpoint(testapp, url="http://127.0.0.1:9000/hook", status=400)
    assert "プライベートネットワーク" in page.text
    page = add_endpoint(testapp, url="ftp://example.jp/", status=400)
    assert "https://" in page.text
    page = add_endpoint(testapp, events=(), status=400)
    assert "少なくとも一つ" in page.text
    assert endpoint_of(dbsession, site) is None


def test_edit_disable_enable_and_rotate(testapp, dbsession, site, admin):
    first = shown_secret(add_endpoint(testapp))
    endpoint = endpoint_of(dbsession, site)
    url = f"{BASE}/{endpoint.id}/"

    form = testapp.get(url + "edit").forms["deform"]
    form["url"] = "https://other.example.lg.jp/hook"
    for field in form.fields["checkbox"]:
        field.checked = field._value == "premium.ended"
    assert form.submit("save", status=303).location.endswith(url)
    assert endpoint_of(dbsession, site).event_types == ["premium.ended"]

    detail = testapp.get(url)
    form_with_action(detail, "/enabled").submit(status=303)
    assert endpoint_of(dbsession, site).enabled is False
    assert "無効" in testapp.get(url).text
    form_with_action(testapp.get(url), "/enabled").submit(status=303)
    assert endpoint_of(dbsession, site).enabled is True

    rotated = form_with_action(testapp.get(url), "/rotate").submit(status=200)
    second = shown_secret(rotated)
    endpoint = endpoint_of(dbsession, site)
    assert second != first and endpoint.secret == second and endpoint.previous_secret == first
    actions = dbsession.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("webhooks.%")).order_by(AuditEntry.id)).all()
    assert actions == ["webhooks.endpoint_create", "webhooks.endpoint_update",
                       "webhooks.endpoint_disable", "webhooks.endpoint_enable",
                       "webhooks.secret_rotate"]


def failed_delivery(dbsession, endpoint) -> WebhookDelivery:
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id, site_id=endpoint.site_id, event_type="registration.created",
        reason="joined", occurred_at=NOW, registration_id=1, account_id=1,
        message_id="msg_replayme", payload='{"type":"registration.created"}', state="failed",
        attempts=7, failures=7, next_attempt_at=NOW, last_attempt_at=NOW, last_status=500)
    dbsession.add(delivery)
    dbsession.flush()
    dbsession.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=NOW, duration_ms=42,
                                 status_code=500, response_excerpt="receiver says no"))
    dbsession.flush()
    return delivery


def test_the_log_shows_deliveries_and_a_replay_sends_again(testapp, dbsession, site, admin):
    add_endpoint(testapp)
    endpoint = endpoint_of(dbsession, site)
    delivery = failed_delivery(dbsession, endpoint)
    log = testapp.get(f"{BASE}/{endpoint.id}/")
    assert "registration.created" in log.text and "失敗" in log.text and "7 / 7" in log.text
    page = testapp.get(f"{BASE}/{endpoint.id}/{delivery.id}")
    assert "msg_replayme" in page.text and "receiver says no" in page.text
    assert "42 ミリ秒" in page.text
    form_with_action(page, "/replay").submit(status=303)
    dbsession.expire_all()
    delivery = dbsession.get(WebhookDelivery, delivery.id)
    assert (delivery.state, delivery.failures, delivery.next_attempt_at) == ("pending", 0, NOW)
    assert dbsession.scalar(select(AuditEntry.actor_id).where(
        AuditEntry.action == "webhooks.replay")) == admin.id


def test_unsafe_requests_need_the_csrf_token(testapp, dbsession, site, admin):
    add_endpoint(testapp)
    endpoint = endpoint_of(dbsession, site)
    delivery = failed_delivery(dbsession, endpoint)
    for path in ("rotate", "enabled", f"{delivery.id}/replay"):
        testapp.post(f"{BASE}/{endpoint.id}/{path}", {"enabled": "0"}, status=400)
    testapp.post(f"{BASE}/new", {"url": "https://x.example.jp/"}, status=400)
    assert endpoint_of(dbsession, site).secret == endpoint.secret


def test_nobody_else_reaches_the_screens(testapp, dbsession, clock, app_settings, site):
    admin = make_staff(dbsession, site, "site_admin")
    sign_in(testapp, dbsession, admin, clock, app_settings)
    add_endpoint(testapp)
    endpoint = endpoint_of(dbsession, site)
    delivery = failed_delivery(dbsession, endpoint)
    pages = (f"{BASE}/", f"{BASE}/new", f"{BASE}/{endpoint.id}/", f"{BASE}/{endpoint.id}/edit",
             f"{BASE}/{endpoint.id}/{delivery.id}")
    testapp.reset()
    for page in pages:
        assert "/signin?came_from=" in testapp.get(page, status=302).location

    other_site = make_site(dbsession, MATSUMOTO)
    other_admin = make_staff(dbsession, other_site, "site_admin", email="other@example.jp")
    coordinator = make_staff(dbsession, site, "coordinator")
    editor = make_staff(dbsession, site, "editor")
    registrant = make_registrant(dbsession, "person@example.jp")
    for account in (other_admin, coordinator, editor, registrant):
        sign_in(testapp, dbsession, account, clock, app_settings)
        for page in pages:
            testapp.get(page, status=403)
        csrf = testapp.get("/my/" if account is registrant else
                           f"/s/{account is other_admin and MATSUMOTO or NAGANO_CITY}/manage"
                           ).html.select_one("input[name=csrf_token]")
        if csrf is not None:
            testapp.post(f"{BASE}/{endpoint.id}/rotate", {"csrf_token": csrf["value"]},
                         status=403)
        testapp.reset()
    assert "/webhooks/" not in testapp.get(f"/s/{NAGANO_CITY}/manage", status=302).text

    sign_in(testapp, dbsession, other_admin, clock, app_settings)
    testapp.get(f"/s/{MATSUMOTO}/webhooks/", status=200)
    testapp.get(f"/s/{MATSUMOTO}/webhooks/{endpoint.id}/", status=404)
    testapp.get(f"/s/{MATSUMOTO}/webhooks/{endpoint.id}/{delivery.id}", status=404)
    dbsession.expire_all()
    assert dbsession.get(WebhookEndpoint, endpoint.id).secret == endpoint.secret
