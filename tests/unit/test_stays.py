"""Stays: stay points and their signed codes, once-a-day scans in Tokyo dates,
declarations with content-checked documents, confirmation and the long-stay mark."""
import dataclasses
import io
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import event, select

from furusato_cms.models import AuditEntry, Registration, StayDocument, StayRecord
from furusato_cms.services.audit import Actor
from furusato_cms.services.attendance import AttendanceService
from furusato_cms.services.checkin_tokens import TokenRefused
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.stays import StayService, document_type

from ..attendance_factories import make_checkin_world
from ..conftest import NOW
from ..factories import NAGANO_CITY, make_staff
from ..premium_factories import make_person, make_premium, register, site_of, tokyo

COORDINATOR = Actor(account_id=None, label="coordinator")
PDF = b"%PDF-1.4\n%%EOF\n"
TODAY = date(2026, 11, 25)
"""NOW in Tokyo."""


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def service(dbsession, clock, app_settings):
    return StayService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def site(dbsession):
    return site_of(dbsession, NAGANO_CITY, long_stay_enabled=True, long_stay_min_days=3)


@pytest.fixture
def point(service, site):
    return service.create_point(COORDINATOR, site, " ゲストハウス  りんご ", "lodging")


@pytest.fixture
def person(dbsession, site):
    account = make_person(dbsession)
    register(dbsession, account, site)
    return account


def days_of(dbsession, account):
    return [r.stay_date for r in dbsession.scalars(
        select(StayRecord).where(StayRecord.account_id == account.id)
        .order_by(StayRecord.stay_date))]


# -- stay points and codes -------------------------------------------------------------

def test_points_are_named_tidily_and_audited(dbsession, point):
    assert point.name == "ゲストハウス りんご"
    assert dbsession.scalar(select(AuditEntry.action)) == "stay.point_create"


@pytest.mark.parametrize("name, kind, field", [
    ("", "lodging", "name"), ("x" * 201, "lodging", "name"), ("宿", "castle", "kind"),
])
def test_bad_points_are_refused(service, site, name, kind, field):
    with pytest.raises(InvalidInput) as refused:
        service.create_point(COORDINATOR, site, name, kind)
    assert refused.value.field == field


def test_a_scan_records_today_once(dbsession, service, point, person):
    token = service.tokens.token_for(point)
    first = service.scan(person, token)
    second = service.scan(person, token)
    assert (first.status, second.status) == ("recorded", "already")
    assert first.day == TODAY
    assert days_of(dbsession, person) == [TODAY]


def test_days_are_tokyo_dates(dbsession, service, clock, point, person):
    token = service.tokens.token_for(point)
    clock.moment = tokyo(2026, 11, 25, 23, 59)
    service.scan(person, token)
    clock.moment = tokyo(2026, 11, 26, 0, 1)
    service.scan(person, token)
    assert days_of(dbsession, person) == [TODAY, TODAY + timedelta(days=1)]


def test_two_points_of_a_site_count_one_day(dbsession, service, site, point, person):
    other = service.create_point(COORDINATOR, site, "コワーキング", "workspace")
    service.scan(person, service.tokens.token_for(point))
    assert service.scan(person, service.tokens.token_for(other)).status == "already"


@pytest.mark.parametrize("change, error, reason", [
    (lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), TokenRefused, "tampered"),
    (lambda token: "", TokenRefused, "tampered"),
    (lambda token: "99999.1." + token.split(".")[2], TokenRefused, "tampered"),
])
def test_altered_codes_are_refused(service, point, person, change, error, reason):
    with pytest.raises(error) as refused:
        service.scan(person, change(service.tokens.token_for(point)))
    assert refused.value.reason == reason


def test_a_rotated_code_stops_working(service, point, person):
    old = service.tokens.token_for(point)
    service.rotate_point(COORDINATOR, point)
    with pytest.raises(TokenRefused) as refused:
        service.scan(person, old)
    assert refused.value.reason == "rotated"
    assert service.scan(person, service.tokens.token_for(point)).status == "recorded"


def test_a_check_in_code_is_no_stay_code(dbsession, service, clock, app_settings, point, person):
    world = make_checkin_world(dbsession, NOW)
    checkin = AttendanceService(dbsession, clock=clock, settings=app_settings).tokens.token_for(
        world.session)
    with pytest.raises(TokenRefused):
        service.scan(person, checkin)


def test_retired_points_and_inactive_sites_record_nothing(service, site, point, person):
    token = service.tokens.token_for(point)
    site.state = "suspended"
    with pytest.raises(NotAllowed):
        service.scan(person, token)
    site.state = "active"
    service.retire_point(COORDINATOR, point)
    with pytest.raises(NotAllowed):
        service.scan(person, token)
    with pytest.raises(Conflict):
        service.rotate_point(COORDINATOR, point)


def test_staff_accounts_record_no_stays(dbsession, service, site, point):
    with pytest.raises(NotAllowed):
        service.scan(make_staff(dbsession, site, "coordinator"), service.tokens.token_for(point))


def premium_at(dbsession, person, site):
    registration = dbsession.scalar(select(Registration).where(
        Registration.account_id == person.id, Registration.site_id == site.id))
    return make_premium(dbsession, person, site, registration=registration)


def test_scanning_refreshes_the_long_stay_mark(dbsession, service, site, point, person):
    premium = premium_at(dbsession, person, site)
    dbsession.add_all(StayRecord(account_id=person.id, site_id=site.id,
                                 stay_date=TODAY - timedelta(days=n), source="declaration",
                                 recorded_at=NOW) for n in (1, 2))
    dbsession.flush()
    assert premium.long_stay is False
    service.scan(person, service.tokens.token_for(point))
    assert premium.long_stay is True


# -- declarations ---------------------------------------------------------------------------

def declare(service, person, site, first=TODAY - timedelta(days=5),
            last=TODAY - timedelta(days=3), documents=(("receipt.pdf", PDF),)):
    return service.declare(person, site, first, last, "民泊に滞在しました", list(documents))


def test_a_declaration_keeps_its_documents(dbsession, service, site, person):
    declaration = declare(service, person, site,
                          documents=[("a.pdf", PDF), ("b.png", png_bytes())])
    assert declaration.state == "pending"
    assert [(d.filename, d.media_type) for d in service.documents_of(declaration)] == [
        ("a.pdf", "application/pdf"), ("b.png", "image/png")]
    assert [row.declaration for row in service.pending_declarations(site)] == [declaration]


@pytest.mark.parametrize("first, last, field", [
    (TODAY - timedelta(days=2), TODAY - timedelta(days=3), "last_day"),
    (TODAY, TODAY + timedelta(days=1), "last_day"),
    (date(2025, 11, 24), TODAY - timedelta(days=300), "first_day"),
])
def test_declared_days_must_be_past_and_recent(service, site, person, first, last, field):
    with pytest.raises(InvalidInput) as refused:
        declare(service, person, site, first, last)
    assert refused.value.field == field


def test_today_and_the_same_date_a_year_ago_can_be_declared(service, site, person):
    assert declare(service, person, site, date(2025, 11, 25), date(2025, 11, 26))
    assert declare(service, person, site, TODAY, TODAY)


@pytest.mark.parametrize("documents, field", [
    ([], "document_1"),
    ([("a.pdf", PDF)] * 4, "document_1"),
    ([("a.pdf", PDF), ("fake.png", b"\x89PNG\r\n\x1a\nnot really")], "document_2"),
    ([("script.pdf", b"<script>alert(1)</script>")], "document_1"),
    ([("photo.jpg", b"\xff\xd8\xff" + b"0" * 10)], "document_1"),
])
def test_documents_are_checked_by_content(service, site, person, documents, field):
    with pytest.raises(InvalidInput) as refused:
        declare(service, person, site, documents=documents)
    assert refused.value.field == field


def test_documents_above_the_size_limit_are_refused(dbsession, clock, app_settings, site, person):
    small = StayService(dbsession, clock=clock,
                        settings=dataclasses.replace(app_settings, upload_max_bytes=100))
    with pytest.raises(InvalidInput) as refused:
        declare(small, person, site, documents=[("big.pdf", PDF + b"0" * 100)])
    assert refused.value.field == "document_1"
    assert refused.value.message.mapping["file"] == "big.pdf"


def test_only_registrants_of_the_site_declare(dbsession, service, site):
    stranger = make_person(dbsession, "stranger@example.jp")
    with pytest.raises(NotAllowed):
        declare(service, stranger, site)


def test_confirming_records_each_day_once_in_one_statement(dbsession, service, site, point,
                                                           person):
    clock_day = TODAY - timedelta(days=4)
    dbsession.add(StayRecord(account_id=person.id, site_id=site.id, stay_date=clock_day,
                             source="qr", stay_point_id=point.id, recorded_at=NOW))
    dbsession.flush()
    declaration = declare(service, person, site)
    inserts = []
    engine = dbsession.get_bind().engine
    listener = lambda conn, cursor, statement, *rest: inserts.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        added = service.confirm(COORDINATOR, declaration)
    finally:
        event.remove(engine, "before_cursor_execute", listener)

    assert added == 2
    assert len([s for s in inserts if s.startswith("INSERT INTO stay_records")]) == 1
    assert days_of(dbsession, person) == [TODAY - timedelta(days=n) for n in (5, 4, 3)]
    assert declaration.state == "confirmed"
    with pytest.raises(Conflict):
        service.confirm(COORDINATOR, declaration)


def test_confirmation_gives_a_premium_registration_its_mark(dbsession, service, site, person):
    registration = premium_at(dbsession, person, site)
    service.confirm(COORDINATOR, declare(service, person, site))
    assert registration.long_stay is True


def test_rejection_needs_a_reason_and_mails_it(dbsession, service, site, person, mail_catcher):
    mail_catcher.clear()
    declaration = declare(service, person, site)
    with pytest.raises(InvalidInput):
        service.reject(COORDINATOR, declaration, " ")
    service.reject(COORDINATOR, declaration, "領収書の日付が読み取れません。")
    assert declaration.state == "rejected"
    [mail] = mail_catcher.messages(to=person.email)
    assert "領収書の日付が読み取れません。" in mail["text"]
    assert days_of(dbsession, person) == []


def test_reading_a_document_is_audited(dbsession, service, site, person):
    declaration = declare(service, person, site)
    document_id = dbsession.scalar(select(StayDocument.id))
    document = service.document_for_staff(COORDINATOR, declaration, document_id)
    assert document.data == PDF
    assert dbsession.scalar(select(AuditEntry.action).where(
        AuditEntry.action == "stay.document_view")) == "stay.document_view"
    assert service.document_for_staff(COORDINATOR, declaration, document_id + 1) is None


def test_history_of_the_last_twelve_months(dbsession, service, site, point, person):
    service.scan(person, service.tokens.token_for(point))
    dbsession.add(StayRecord(account_id=person.id, site_id=site.id, stay_date=date(2025, 11, 1),
                             source="declaration", recorded_at=NOW))
    [stays] = service.history(person)
    assert stays.days == [(TODAY, "qr")]
    assert (stays.long_stay_enabled, stays.required_days) == (True, 3)


def test_document_types():
    assert document_type(PDF) == "application/pdf"
    assert document_type(png_bytes()) == "image/png"
    assert document_type(b"GIF89a") is None
