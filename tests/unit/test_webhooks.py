"""Webhooks: the signature against the published Standard Webhooks vector, one event per
writer in the writer's own transaction, and the worker against a real HTTP receiver —
delivery, retries with back-off on a moved clock, the same webhook-id every time,
replay, disabled endpoints, redirects and private addresses refused."""
import base64
import io
import json
import subprocess
import sys
from datetime import date, timedelta

import jsonschema
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from furusato_cms.clock import FixedClock
from furusato_cms.models import AuditEntry, Registration, WebhookAttempt, WebhookDelivery
from furusato_cms.models.webhook import EVENT_TYPES
from furusato_cms.services.activity_import import ActivityImportService
from furusato_cms.services.attendance import AttendanceService
from furusato_cms.services.audit import Actor
from furusato_cms.services.premium import PremiumService, fall_back
from furusato_cms.services.registrant_accounts import RegistrantAccountService
from furusato_cms.services.inactivity_release import InactivityRelease
from furusato_cms.services.registration import RegistrationService
from furusato_cms.services.renewal import RenewalService
from furusato_cms.services.webhooks import transport
from furusato_cms.services.webhooks import (
    MAX_ATTEMPTS,
    SCHEDULE,
    DeliveryWorker,
    WebhookEndpoints,
    WebhookSettings,
    account_reference,
    new_secret,
    registration_changed,
    signature,
)

from ..attendance_factories import make_checkin_world, make_registered
from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, PASSWORD, make_site, make_staff
from ..fixtures_import import csv_bytes, make_verified, past_sample
from ..premium_factories import (
    eligible_person,
    give_activities,
    make_person,
    make_premium,
    register,
    site_of,
    tokyo,
)
from ..registrant_factories import make_registrant
from ..script_support import script_database, write_ini  # noqa: F401 - a fixture
from ..survey_factories import make_registration
from ..webhook_receiver import start_receiver, verify

SPEC = "src/furusato_cms/openapi/openapi.yaml"
OPTIONS = WebhookSettings(allow_private_addresses=True, timeout_seconds=0.5,
                          pseudonym_key=b"test-pseudonym-key")
ADMIN = Actor(account_id=None, label="site admin")
NATIONAL = ([4], ["birthplace"])


@pytest.fixture(scope="module")
def receiver():
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def hook(receiver):
    receiver.clear()
    return receiver


@pytest.fixture
def endpoints(dbsession, clock, app_settings):
    return WebhookEndpoints(dbsession, clock=clock, settings=app_settings, options=OPTIONS)


@pytest.fixture
def worker(connection, clock):
    """The worker on the test's connection (each of its transactions a savepoint), with the
    longest jitter, so a clock moved by 1.2 × the step always reaches the next try."""
    def sessions():
        return Session(bind=connection, join_transaction_mode="create_savepoint")
    return DeliveryWorker(sessions, clock=clock, options=OPTIONS, rand=lambda: 1.0)


@pytest.fixture
def city(dbsession):
    return make_site(dbsession, NAGANO_CITY)


def subscribe(endpoints, site, url, events=EVENT_TYPES):
    return endpoints.create(ADMIN, site, url=url, description="", event_types=list(events))


def queued(dbsession, site=None) -> list:
    dbsession.flush()
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if site is not None:
        query = query.where(WebhookDelivery.site_id == site.id)
    return list(dbsession.scalars(query.execution_options(populate_existing=True)))


def run(dbsession, worker) -> dict:
    dbsession.flush()
    counts = worker.run_once()
    dbsession.expire_all()
    return counts


def schema_of(event_type) -> dict:
    with open(SPEC, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    post = document["webhooks"][event_type]["post"]
    return post["requestBody"]["content"]["application/json"]["schema"]


# -- signing -----------------------------------------------------------------------------

def test_the_signature_matches_the_published_standard_webhooks_vector():
    """standard-webhooks/standard-webhooks, libraries/go/webhook_test.go (TestWebhookSign)."""
    assert signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                     1614265330, b'{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_new_secret_is_whsec_and_32_random_bytes_in_base64():
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first[6:])) == 32


def test_the_account_reference_is_stable_per_site_and_differs_between_sites():
    key = b"k"
    assert account_reference(key, NAGANO_CITY, 7) == account_reference(key, NAGANO_CITY, 7)
    assert account_reference(key, NAGANO_CITY, 7) != account_reference(key, MATSUMOTO, 7)
    assert account_reference(key, NAGANO_CITY, 7).startswith("acct_")


# -- one event per writer -------------------------------------------------------------------

def test_no_endpoint_no_row_and_only_subscribed_enabled_endpoints_get_events(
        dbsession, endpoints, city, clock, app_settings):
    service = AttendanceService(dbsession, clock=clock, settings=app_settings)
    world = make_checkin_world(dbsession, NOW)
    person = make_registered(dbsession, world.site, "a@example.jp")
    service.check_in(person, service.tokens.token_for(world.session))
    assert queued(dbsession) == []

    wanted, _secret = subscribe(endpoints, city, "https://a.example.jp/", ["attendance.recorded"])
    subscribe(endpoints, city, "https://b.example.jp/", ["registration.created"])
    off, _secret = subscribe(endpoints, city, "https://c.example.jp/", ["attendance.recorded"])
    endpoints.set_enabled(ADMIN, off, False)
    other = make_registered(dbsession, world.site, "b@example.jp")
    service.check_in(other, service.tokens.token_for(world.session))
    service.check_in(other, service.tokens.token_for(world.session))
    [row] = queued(dbsession)
    assert (row.endpoint_id, row.event_type, row.account_id, row.state) == (
        wanted.id, "attendance.recorded", other.id, "pending")
    assert row.registration_id is not None and row.next_attempt_at == NOW


def test_web_check_in_staff_recording_and_card_each_queue_attendance_recorded(
        dbsession, endpoints, clock, app_settings):
    service = AttendanceService(dbsession, clock=clock, settings=app_settings)
    world = make_checkin_world(dbsession, NOW)
    subscribe(endpoints, world.site, "https://a.example.jp/")
    coordinator = make_staff(dbsession, world.site, "coordinator")
    actor = Actor(account_id=coordinator.id, label="coordinator")
    qr, by_hand, card = (make_registered(dbsession, world.site, f"{n}@example.jp")
                         for n in ("qr", "hand", "card"))
    service.check_in(qr, service.tokens.token_for(world.session))
    service.record_by_staff(actor, world.session, by_hand)
    service.record_by_card(actor, world.session, service.card_code_for(card).code)
    rows = queued(dbsession)
    assert [(r.event_type, r.account_id) for r in rows] == [
        ("attendance.recorded", qr.id), ("attendance.recorded", by_hand.id),
        ("attendance.recorded", card.id)]


def test_an_import_queues_one_event_per_recorded_attendance(dbsession, endpoints, city, clock,
                                                            app_settings):
    subscribe(endpoints, city, "https://a.example.jp/", ["attendance.recorded"])
    make_verified(dbsession, "佐藤健一", date(1974, 2, 18), "1247834")
    make_verified(dbsession, "鈴木　美咲", date(1990, 11, 3), "5631129")
    staff = make_staff(dbsession, city, "coordinator")
    service = ActivityImportService(dbsession, clock=clock, settings=app_settings)
    report = service.import_file(Actor(account_id=staff.id, label="c"), city, "sample.csv",
                                 io.BytesIO(csv_bytes(past_sample())))
    recorded = report.attendance_recorded
    assert recorded > 0
    rows = queued(dbsession)
    assert len(rows) == recorded and {r.event_type for r in rows} == {"attendance.recorded"}
    assert all(r.registration_id is None for r in rows)


def test_registering_queues_created_for_the_city_and_its_derived_prefecture(
        dbsession, endpoints, clock, app_settings):
    prefecture, city = make_site(dbsession, NAGANO_PREF), make_site(dbsession, NAGANO_CITY)
    subscribe(endpoints, city, "https://city.example.jp/")
    subscribe(endpoints, prefecture, "https://pref.example.jp/")
    service = RegistrationService(dbsession, clock=clock, settings=app_settings)
    person = make_registrant(dbsession)
    registration = service.register(person, city, *NATIONAL, {})
    rows = queued(dbsession)
    assert [(r.site_id, r.event_type, r.reason) for r in rows] == [
        (city.id, "registration.created", "joined"),
        (prefecture.id, "registration.created", "derived")]
    assert rows[0].registration_id == registration.id

    service.leave(registration)
    ended = queued(dbsession)[2:]
    assert [(r.site_id, r.event_type, r.reason) for r in ended] == [
        (city.id, "registration.ended", "left"), (prefecture.id, "registration.ended", "derived")]


def test_premium_granted_then_ended_queue_their_events(dbsession, endpoints, clock,
                                                       app_settings):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=True)
    subscribe(endpoints, site, "https://a.example.jp/", ["premium.granted", "premium.ended"])
    person, registration = eligible_person(dbsession, site, at=NOW)
    PremiumService(dbsession, clock=clock, settings=app_settings).apply(person, registration)
    fall_back(dbsession, [registration.id], NOW + timedelta(days=400), "requirements_not_met")
    rows = queued(dbsession)
    assert [(r.event_type, r.reason, r.valid_until) for r in rows] == [
        ("premium.granted", "approved", NOW.replace(year=2027)),
        ("premium.ended", "requirements_not_met", None)]


def test_set_based_writers_pass_a_select_of_registrations(dbsession, endpoints, city):
    """As the inactivity release and renewal do: one INSERT … SELECT for all the rows; a
    SELECT of the same table is not correlated away; other history kinds queue nothing."""
    subscribe(endpoints, city, "https://a.example.jp/", ["registration.ended"])
    registrations = [register(dbsession, make_registrant(dbsession, f"p{n}@example.jp"), city)
                     for n in range(3)]
    registration_changed(dbsession, "released", NOW,
                         select(Registration.id).where(Registration.site_id == city.id,
                                                       Registration.id != registrations[1].id))
    registration_changed(dbsession, "release_notice", NOW, [r.id for r in registrations])
    rows = queued(dbsession)
    assert sorted((r.registration_id, r.reason) for r in rows) == [
        (registrations[0].id, "released"), (registrations[2].id, "released")]


# -- the worker ---------------------------------------------------------------------------

def queue_one(dbsession, endpoints, site, url, events=("registration.created",)):
    endpoint, secret = subscribe(endpoints, site, url, events)
    registration = register(dbsession, make_registrant(dbsession, "w@example.jp"), site)
    registration_changed(dbsession, "joined", NOW, [registration.id])
    [delivery] = queued(dbsession, site)
    return endpoint, secret, delivery, registration


def test_a_delivery_is_signed_verifiable_minimal_and_logged(dbsession, endpoints, worker,
                                                            hook, city):
    _endpoint, secret, delivery, registration = queue_one(dbsession, endpoints, city, hook.url)
    assert run(dbsession, worker) == {"sent": 1, "delivered": 1, "retrying": 0, "failed": 0}
    [request] = hook.requests
    assert request.path == "/furusato/events"
    assert verify(secret, request.headers, request.body, int(NOW.timestamp()))
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    jsonschema.validate(body, schema_of("registration.created"))
    assert body == {"type": "registration.created", "timestamp": "2026-11-25T03:00:00Z",
                    "data": {"site": NAGANO_CITY, "registration_id": registration.id,
                             "account": account_reference(OPTIONS.pseudonym_key, NAGANO_CITY,
                                                          registration.account_id),
                             "reason": "joined"}}
    assert "w@example.jp" not in request.body.decode()
    delivery = dbsession.get(WebhookDelivery, delivery.id)
    assert (delivery.state, delivery.attempts, delivery.last_status, delivery.delivered_at) == (
        "delivered", 1, 200, NOW)
    assert delivery.message_id == request.headers["webhook-id"]
    assert run(dbsession, worker)["sent"] == 0


def test_a_500_is_retried_with_back_off_under_the_same_id_and_body(dbsession, endpoints,
                                                                   worker, hook, city, clock):
    _endpoint, secret, delivery, _r = queue_one(dbsession, endpoints, city, hook.url)
    hook.answer_with(500, 503)
    assert run(dbsession, worker)["retrying"] == 1
    clock.advance(timedelta(seconds=SCHEDULE[0] - 1))
    assert run(dbsession, worker)["sent"] == 0
    clock.advance(timedelta(seconds=SCHEDULE[0] * 0.2 + 1))
    assert run(dbsession, worker)["retrying"] == 1
    clock.advance(timedelta(seconds=SCHEDULE[1] * 1.2))
    assert run(dbsession, worker)["delivered"] == 1
    first, second, third = hook.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == third.headers[
        "webhook-id"]
    assert first.body == second.body == third.body
    assert first.headers["webhook-timestamp"] != third.headers["webhook-timestamp"]
    assert verify(secret, third.headers, third.body, int(clock().timestamp()))
    attempts = dbsession.scalars(select(WebhookAttempt).where(
        WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.id)).all()
    assert [a.status_code for a in attempts] == [500, 503, 200]
    assert attempts[0].response_excerpt == "receiver says no"


def test_a_timeout_is_an_attempt_without_answer_and_is_retried(dbsession, endpoints, worker,
                                                               hook, city, clock):
    queue_one(dbsession, endpoints, city, hook.url)
    hook.answer_with(("sleep", 1.5))
    assert run(dbsession, worker)["retrying"] == 1
    attempt = dbsession.scalar(select(WebhookAttempt))
    assert attempt.status_code is None and attempt.error == "timed out"
    clock.advance(timedelta(seconds=SCHEDULE[0] * 1.2))
    assert run(dbsession, worker)["delivered"] == 1


def test_after_the_last_try_it_fails_and_a_replay_sends_it_again(dbsession, endpoints, worker,
                                                                 hook, city, clock):
    _endpoint, _secret, delivery, _r = queue_one(dbsession, endpoints, city, hook.url)
    hook.answer_with(*[500] * MAX_ATTEMPTS)
    for step in (*SCHEDULE, None):
        run(dbsession, worker)
        if step:
            clock.advance(timedelta(seconds=step * 1.2))
    delivery = dbsession.get(WebhookDelivery, delivery.id)
    assert (delivery.state, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(hook.requests) == MAX_ATTEMPTS
    clock.advance(timedelta(days=1))
    assert run(dbsession, worker)["sent"] == 0

    endpoints.replay(ADMIN, delivery)
    assert run(dbsession, worker)["delivered"] == 1
    assert hook.requests[-1].headers["webhook-id"] == hook.requests[0].headers["webhook-id"]
    assert hook.requests[-1].body == hook.requests[0].body
    assert dbsession.scalar(select(AuditEntry.action).where(
        AuditEntry.action == "webhooks.replay")) == "webhooks.replay"


def test_a_disabled_endpoint_gets_nothing_until_enabled(dbsession, endpoints, worker, hook,
                                                        city):
    endpoint, _secret, delivery, _r = queue_one(dbsession, endpoints, city, hook.url)
    endpoints.set_enabled(ADMIN, endpoint, False)
    registration_changed(dbsession, "left", NOW, [delivery.registration_id])
    assert run(dbsession, worker)["sent"] == 0 and hook.requests == []
    assert len(queued(dbsession, city)) == 1
    endpoints.set_enabled(ADMIN, endpoint, True)
    assert run(dbsession, worker)["delivered"] == 1


def test_redirects_are_not_followed(dbsession, endpoints, worker, hook, city):
    _endpoint, _secret, delivery, _r = queue_one(dbsession, endpoints, city, hook.url)
    hook.answer_with(("redirect", "http://169.254.169.254/latest/meta-data"))
    assert run(dbsession, worker)["retrying"] == 1
    assert len(hook.requests) == 1
    attempt = dbsession.scalar(select(WebhookAttempt))
    assert (attempt.status_code, attempt.error) == (302, "redirect not followed")


def test_private_addresses_are_refused_unless_the_setting_allows_them(
        dbsession, endpoints, connection, clock, hook, city, app_settings):
    queue_one(dbsession, endpoints, city, hook.url)
    strict = WebhookSettings(allow_private_addresses=False, timeout_seconds=0.5,
                             pseudonym_key=b"k")
    worker = DeliveryWorker(
        lambda: Session(bind=connection, join_transaction_mode="create_savepoint"),
        clock=clock, options=strict)
    assert run(dbsession, worker)["retrying"] == 1 and hook.requests == []
    assert "non-public address" in dbsession.scalar(select(WebhookAttempt.error))
    production = WebhookEndpoints(dbsession, clock=clock, settings=app_settings, options=strict)
    for url in ("http://127.0.0.1:8080/x", "https://10.1.2.3/", "http://localhost/",
                "ftp://example.jp/", "https://user:pw@example.jp/"):
        with pytest.raises(Exception) as refused:
            production.checked_url(url)
        assert refused.value.field == "url"
    assert production.checked_url("https://example.lg.jp/hook") == "https://example.lg.jp/hook"


def test_after_a_rotation_both_secrets_sign_for_a_day(dbsession, endpoints, worker, hook, city,
                                                      clock):
    endpoint, old, _delivery, _r = queue_one(dbsession, endpoints, city, hook.url)
    new = endpoints.rotate(ADMIN, endpoint)
    run(dbsession, worker)
    [request] = hook.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    now = int(NOW.timestamp())
    assert verify(new, request.headers, request.body, now)
    assert verify(old, request.headers, request.body, now)


def test_every_body_sent_matches_its_schema_in_the_openapi_document(
        dbsession, endpoints, worker, hook, clock, app_settings):
    world = make_checkin_world(dbsession, NOW)
    subscribe(endpoints, world.site, hook.url)
    person = make_registered(dbsession, world.site, "s@example.jp")
    service = AttendanceService(dbsession, clock=clock, settings=app_settings)
    service.check_in(person, service.tokens.token_for(world.session))
    registration = dbsession.scalar(select(Registration).where(
        Registration.account_id == person.id))
    registration.premium_until = NOW.replace(year=2027)
    for kind, reason in (("joined", None), ("left", None), ("premium_granted", None),
                         ("premium_fell_back", "no_slot")):
        registration_changed(dbsession, kind, NOW, [registration.id], reason=reason)
    run(dbsession, worker)
    bodies = [json.loads(request.body) for request in hook.requests]
    assert sorted(body["type"] for body in bodies) == sorted(EVENT_TYPES)
    for body in bodies:
        jsonschema.validate(body, schema_of(body["type"]))
    attendance = next(b for b in bodies if b["type"] == "attendance.recorded")["data"]
    assert (attendance["source"], attendance["session_id"], attendance["designated"]) == (
        "qr", world.session.id, world.project.designated)


def test_the_console_command_sends_what_is_due_and_prints_a_summary(script_database, tmp_path,
                                                                     hook):
    """``furusato-webhooks <ini> --once`` in a process of its own, on a committed database."""
    url, engine = script_database
    with Session(bind=engine) as session:
        site = make_site(session, NAGANO_CITY)
        service = WebhookEndpoints(session, clock=lambda: NOW, settings=None, options=OPTIONS)
        _endpoint, secret = subscribe(service, site, hook.url)
        registration = register(session, make_registrant(session, "c@example.jp"), site)
        registration_changed(session, "joined", NOW, [registration.id])
        registration_id = registration.id
        session.commit()
    ini = write_ini(tmp_path / "webhooks.ini", url)
    ini.write_text(ini.read_text() + "furusato.webhooks.allow_private_addresses = true\n")
    command = [sys.executable, "-c", "from furusato_cms.scripts.webhooks import main; main()",
               str(ini), "--once"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"sent": 1, "delivered": 1, "retrying": 0, "failed": 0}
    [request] = hook.requests
    assert json.loads(request.body)["data"]["registration_id"] == registration_id
    assert verify(secret, request.headers, request.body, int(request.headers["webhook-timestamp"]))


def test_the_inactivity_release_queues_registration_ended(dbsession, endpoints, city, clock,
                                                          app_settings, mail_catcher):
    subscribe(endpoints, city, "https://a.example.jp/", ["registration.ended"])
    person = make_registrant(dbsession, "idle@example.jp",
                             last_signin_at=NOW - timedelta(days=730 - 30))
    registration = make_registration(dbsession, city, person)
    release = InactivityRelease(dbsession, clock=clock, settings=app_settings)
    release.run(NOW)
    assert queued(dbsession) == []
    release.run(NOW + timedelta(days=30))
    [row] = queued(dbsession)
    assert (row.registration_id, row.event_type, row.reason) == (
        registration.id, "registration.ended", "released")


@pytest.mark.parametrize("activities, expected", [
    (3, ("premium.granted", "renewed")),
    (2, ("premium.ended", "requirements_not_met")),
])
def test_the_renewal_run_queues_renewed_or_ended(dbsession, endpoints, app_settings,
                                                 activities, expected):
    site = site_of(dbsession, NAGANO_CITY)
    subscribe(endpoints, site, "https://a.example.jp/", ["premium.granted", "premium.ended"])
    person = make_person(dbsession, "renew@example.jp")
    granted, expires = tokyo(2026, 11, 25, 12), tokyo(2027, 11, 25, 12)
    registration = make_premium(dbsession, person, site, since=granted, until=expires)
    give_activities(dbsession, person, site,
                    [tokyo(2027, month, 10, 10) for month in (2, 5, 9)[:activities]])
    RenewalService(dbsession, clock=FixedClock(expires), settings=app_settings).run()
    [row] = queued(dbsession)
    assert (row.registration_id, row.event_type, row.reason) == (registration.id, *expected)


def test_deleting_an_account_ends_its_registrations(dbsession, endpoints, city, clock,
                                                    app_settings):
    subscribe(endpoints, city, "https://a.example.jp/", ["registration.ended"])
    person = make_registered(dbsession, city, "bye@example.jp")
    RegistrantAccountService(dbsession, clock=clock, settings=app_settings).delete_account(
        person, PASSWORD)
    [row] = queued(dbsession)
    assert (row.event_type, row.reason, row.account_id) == (
        "registration.ended", "account_deleted", person.id)


def test_a_host_name_is_resolved_checked_and_sent_its_own_host_header(hook):
    port = hook.server.server_address[1]
    answer = transport.post(f"http://localhost:{port}/by-name?x=1", b"{}", {},
                            timeout=1, allow_private=True)
    assert answer.status == 200
    [request] = hook.requests
    assert request.path == "/by-name?x=1" and request.headers["host"] == f"localhost:{port}"
    with pytest.raises(transport.DeliveryError, match="non-public"):
        transport.post(f"http://localhost:{port}/", b"{}", {}, timeout=1, allow_private=False)
    assert len(hook.requests) == 1
