"""Attendance rules on the service (no HTTP): check-in window and code, second scans,
applications, staff recording by hand and by card, voiding, history, list and export."""
import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from furusato_cms.models import Account, Attendance, AuditEntry
from furusato_cms.services.attendance import AttendanceService, fiscal_year
from furusato_cms.services.card_codes import grouped
from furusato_cms.services.checkin_tokens import TokenRefused
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed

from ..activity_factories import make_attendance, make_project, make_session
from ..attendance_factories import (
    HOUR,
    make_application,
    make_checkin_world,
    make_registered,
)
from ..conftest import NOW
from ..dbsetup import is_postgresql
from ..factories import MATSUMOTO, make_account, make_site, make_staff
from ..registrant_factories import make_registrant
from ..sites_factories import actor_for
from ..statements import statements_during

TOKYO_OPEN = "2026/11/25 11:00"
"""NOW (03:00 UTC) is 12:00 in Tokyo; the session starts then, check-in opens an hour before."""
TOKYO_CLOSE = "2026/11/25 17:00"


@pytest.fixture
def service(dbsession, clock, app_settings):
    return AttendanceService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def world(dbsession):
    return make_checkin_world(dbsession, NOW)


@pytest.fixture
def person(dbsession, world):
    return make_registered(dbsession, world.site)


@pytest.fixture
def coordinator(dbsession, world):
    return make_staff(dbsession, world.site, "coordinator")


def token_of(service, session):
    return service.tokens.token_for(session)


def rows(dbsession, session):
    return dbsession.scalars(select(Attendance).where(Attendance.session_id == session.id)).all()


def audit_actions(dbsession):
    return [entry.action for entry in dbsession.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def refused(call, error=NotAllowed):
    with pytest.raises(error) as caught:
        call()
    return caught.value


# -- check-in ---------------------------------------------------------------------

def test_check_in_records_once_at_the_session_start(dbsession, service, world, person, clock):
    clock.advance(timedelta(minutes=40))
    result = service.check_in(person, token_of(service, world.session))
    assert (result.status, result.created, result.registered) == ("recorded", True, True)
    [row] = rows(dbsession, world.session)
    assert (row.source, row.account_id, row.site_id) == ("qr", person.id, world.site.id)
    assert row.attended_at == world.session.starts_at
    assert row.recorded_at == NOW + timedelta(minutes=40)
    assert row.recorded_by_id is None


def test_a_second_scan_says_already_recorded_and_adds_nothing(dbsession, service, world, person):
    token = token_of(service, world.session)
    first = service.check_in(person, token)
    second = service.check_in(person, token)
    assert (second.status, second.created) == ("already", False)
    assert second.attendance.id == first.attendance.id
    assert len(rows(dbsession, world.session)) == 1


@pytest.mark.parametrize("offset, accepted", [
    (-HOUR - timedelta(seconds=1), False),
    (-HOUR, True),
    (timedelta(hours=3) + 2 * HOUR, True),
    (timedelta(hours=3) + 2 * HOUR + timedelta(seconds=1), False),
])
def test_window_edges_are_included(dbsession, service, world, person, offset, accepted):
    """Open one hour before the start, close two hours after the end (3-hour session)."""
    now = world.session.starts_at + offset
    token = token_of(service, world.session)
    if accepted:
        assert service.check_in(person, token, now=now).status == "recorded"
    else:
        error = refused(lambda: service.check_in(person, token, now=now))
        assert error.message.mapping["time"] in (TOKYO_OPEN, TOKYO_CLOSE)
        assert rows(dbsession, world.session) == []


def test_refusals_name_when_the_window_opens_and_closed(service, world, person):
    token = token_of(service, world.session)
    early = refused(lambda: service.check_in(person, token, now=NOW - 2 * HOUR))
    late = refused(lambda: service.check_in(person, token, now=NOW + 6 * HOUR))
    assert early.message.interpolate() == (
        f"Check-in opens at {TOKYO_OPEN}. Please scan the code again then.")
    assert TOKYO_CLOSE in late.message.interpolate() and "closed" in late.message.interpolate()


def test_the_window_follows_the_site_settings(dbsession, service, world, person):
    world.site.checkin_before_minutes = 10
    world.site.checkin_after_minutes = 0
    token = token_of(service, world.session)
    refused(lambda: service.check_in(person, token, now=NOW - timedelta(minutes=11)))
    refused(lambda: service.check_in(person, token, now=world.session.ends_at
                                     + timedelta(seconds=1)))
    assert service.check_in(person, token, now=world.session.ends_at).created


def test_altered_rotated_and_unknown_codes_are_refused(dbsession, service, world, person,
                                                        coordinator):
    token = token_of(service, world.session)
    assert refused(lambda: service.check_in(person, token[:-2] + "xx"), TokenRefused
                   ).reason == "tampered"
    service.rotate(actor_for(coordinator), world.session)
    assert refused(lambda: service.check_in(person, token), TokenRefused).reason == "rotated"
    assert service.check_in(person, token_of(service, world.session)).created
    assert "attendance.rotate_code" in audit_actions(dbsession)
    ghost = type(world.session)(id=world.session.id + 1000, token_version=1)
    assert refused(lambda: service.check_in(person, service.tokens.token_for(ghost)),
                   TokenRefused).reason == "unknown"


def test_no_check_in_for_a_cancelled_session_hidden_project_or_inactive_site(
        dbsession, service, world, person):
    token = token_of(service, world.session)
    world.session.cancelled_at = NOW - HOUR
    assert "cancelled" in refused(lambda: service.check_in(person, token)).message
    world.session.cancelled_at = None
    world.project.state = "draft"
    assert "not open" in refused(lambda: service.check_in(person, token)).message
    world.project.state = "published"
    world.site.state = "suspended"
    assert "not open" in refused(lambda: service.check_in(person, token)).message
    assert rows(dbsession, world.session) == []


def test_staff_accounts_cannot_check_in_themselves(service, world, coordinator):
    error = refused(lambda: service.check_in(coordinator, token_of(service, world.session)))
    assert "registrant" in error.message


def test_people_not_registered_with_the_site_are_recorded_and_told(dbsession, service, world):
    visitor = make_registrant(dbsession, "visitor@example.jp")
    result = service.check_in(visitor, token_of(service, world.session))
    assert (result.created, result.registered) == (True, False)


def test_a_left_registration_does_not_count_as_registered(dbsession, service, world):
    former = make_registered(dbsession, world.site, "former@example.jp", state="left")
    assert service.check_in(former, token_of(service, world.session)).registered is False


@pytest.mark.parametrize("state, accepted, words", [
    (None, False, "applications in advance"),
    ("waitlisted", False, "waiting list"),
    ("cancelled", False, "applications in advance"),
    ("applied", True, ""),
])
def test_sessions_with_applications_need_an_accepted_application(
        dbsession, service, person, state, accepted, words):
    world = make_checkin_world(dbsession, NOW, title="要申込の活動", application_required=True,
                               capacity=10)
    if state:
        make_application(dbsession, world.session, person, state)
    token = token_of(service, world.session)
    if accepted:
        assert service.check_in(person, token).created
    else:
        assert words in refused(lambda: service.check_in(person, token)).message


def test_the_check_in_page_explains_before_the_tap(dbsession, service, world, person):
    token = token_of(service, world.session)
    view = service.checkin_view(None, token, now=NOW - 2 * HOUR)
    assert view.session.id == world.session.id and "opens" in view.refusal
    assert service.checkin_view(person, token).refusal is None
    service.check_in(person, token)
    assert service.checkin_view(person, token).attendance is not None
    world.project.state = "draft"
    refused(lambda: service.checkin_view(None, token))


def test_a_scan_reads_what_the_rules_need_about_the_person(dbsession, service, person):
    world = make_checkin_world(dbsession, NOW, title="要申込の活動", application_required=True,
                               capacity=10)
    make_application(dbsession, world.session, person, "waitlisted")
    stranger = make_registrant(dbsession, "stranger@example.jp")
    token = token_of(service, world.session)
    mine, theirs, nobody = (service.scan(token, who) for who in (person, stranger, None))
    assert mine.session is theirs.session is nobody.session is world.session
    assert (mine.registered, mine.application, mine.attendance) == (True, "waitlisted", None)
    assert (theirs.registered, theirs.application) == (False, None)
    assert (nobody.registered, nobody.application, nobody.attendance) == (False, None, None)
    make_application(dbsession, world.session, stranger, "applied")
    recorded = service.check_in(stranger, token).attendance
    assert service.scan(token, stranger).attendance is recorded


def test_a_check_in_is_two_statements_and_a_second_scan_three(dbsession, service, world,
                                                               person):
    """The scan (the session with its project and site, and the person's registration,
    application and attendance) and the insert that returns its row with the webhook
    outbox's INSERT … SELECT in it (no row when the site has no subscribed endpoint; on
    SQLite, which has no data-modifying CTEs, a statement of its own); what the page shows
    is loaded by then. A second scan reads the row that won instead, and queues nothing."""
    token, person_id = token_of(service, world.session), person.id
    dbsession.flush()
    dbsession.expunge_all()
    person = dbsession.get(Account, person_id)

    def tap():
        scan = service.scan(token, person)
        service.check_in_scan(person, scan)
        project = scan.session.project
        return project.title, project.site.name, scan.session.place

    first = statements_during(dbsession.connection(), tap)
    again = statements_during(dbsession.connection(), tap)
    assert (len(first), len(again)) == (2 if is_postgresql() else 3, 3)


# -- staff recording ----------------------------------------------------------------

def test_staff_record_a_registrant_by_hand_with_audit(dbsession, service, world, person,
                                                      coordinator):
    result = service.record_by_staff(actor_for(coordinator), world.session, person)
    assert result.created
    [row] = rows(dbsession, world.session)
    assert (row.source, row.recorded_by_id, row.attended_at) == (
        "staff", coordinator.id, world.session.starts_at)
    again = service.record_by_staff(actor_for(coordinator), world.session, person)
    assert again.status == "already"
    assert audit_actions(dbsession).count("attendance.record") == 1


def test_staff_cannot_record_strangers_by_hand(dbsession, service, world, coordinator):
    stranger = make_registrant(dbsession, "stranger@example.jp")
    refused(lambda: service.record_by_staff(actor_for(coordinator), world.session, stranger),
            InvalidInput)
    other_site = make_site(dbsession, MATSUMOTO)
    elsewhere = make_registered(dbsession, other_site, "elsewhere@example.jp")
    refused(lambda: service.record_by_staff(actor_for(coordinator), world.session, elsewhere),
            InvalidInput)
    with pytest.raises(InvalidInput):
        service.registrant_at(world.site.id, elsewhere.id)
    assert service.registrant_at(other_site.id, elsewhere.id) == elsewhere
    assert rows(dbsession, world.session) == []


def test_staff_record_late_but_never_before_check_in_opens(dbsession, service, person,
                                                           coordinator, clock):
    future = make_checkin_world(dbsession, NOW + 3 * HOUR, title="午後の活動")
    error = refused(lambda: service.record_by_staff(actor_for(coordinator), future.session,
                                                    person))
    assert error.message.mapping["time"] == "2026/11/25 14:00"
    clock.advance(timedelta(days=3))
    assert service.record_by_staff(actor_for(coordinator), future.session, person).created


def test_staff_may_record_walk_ins_at_sessions_with_applications(dbsession, service, person,
                                                                 coordinator):
    world = make_checkin_world(dbsession, NOW, title="要申込の活動", application_required=True)
    assert service.record_by_staff(actor_for(coordinator), world.session, person).created


def test_a_staff_source_must_be_staff_or_card(service, world, person, coordinator):
    with pytest.raises(ValueError):
        service.record_by_staff(actor_for(coordinator), world.session, person, source="qr")


def test_card_code_records_the_person_shown(dbsession, service, world, coordinator, clock):
    visitor = make_registrant(dbsession, "visitor@example.jp")
    code = service.card_code_for(visitor)
    assert code.expires_at == NOW + timedelta(minutes=10)
    result = service.record_by_card(actor_for(coordinator), world.session, grouped(code.code))
    assert (result.status, result.registered) == ("recorded", False)
    assert rows(dbsession, world.session)[0].source == "card"


def test_an_expired_or_foreign_card_code_is_refused(dbsession, service, world, person,
                                                    coordinator, clock):
    code = service.card_code_for(person).code
    clock.advance(timedelta(minutes=10, seconds=1))
    assert refused(lambda: service.record_by_card(actor_for(coordinator), world.session, code),
                   TokenRefused).reason == "expired"
    poster = token_of(service, world.session)
    assert refused(lambda: service.record_by_card(actor_for(coordinator), world.session,
                                                  poster), TokenRefused).reason == "format"
    refused(lambda: service.card_code_for(coordinator))
    person.disabled_at = NOW
    fresh = service.card_code_for(person).code
    assert fresh != code
    assert refused(lambda: service.account_from_card_code(fresh), TokenRefused
                   ).reason == "unknown"


def test_staff_recording_after_a_scan_says_already(service, world, person, coordinator):
    service.check_in(person, token_of(service, world.session))
    assert service.record_by_staff(actor_for(coordinator), world.session, person
                                   ).status == "already"


# -- voiding -------------------------------------------------------------------------

def test_voiding_keeps_the_row_with_who_and_why(dbsession, service, world, person, coordinator,
                                                clock):
    attendance = service.check_in(person, token_of(service, world.session)).attendance
    clock.advance(HOUR)
    service.void(actor_for(coordinator), attendance, "  別の方と取り違えました  ")
    dbsession.expire_all()
    [row] = rows(dbsession, world.session)
    assert (row.voided_at, row.void_reason, row.voided_by_id) == (
        NOW + HOUR, "別の方と取り違えました", coordinator.id)
    entry = dbsession.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.void"))
    assert entry.detail["reason"] == "別の方と取り違えました"
    assert entry.site_id == world.site.id


def test_voiding_needs_a_reason_and_happens_once(service, world, person, coordinator):
    attendance = service.check_in(person, token_of(service, world.session)).attendance
    error = refused(lambda: service.void(actor_for(coordinator), attendance, "   "), InvalidInput)
    assert error.field == "reason"
    refused(lambda: service.void(actor_for(coordinator), attendance, "x" * 501), InvalidInput)
    service.void(actor_for(coordinator), attendance, "誤登録")
    refused(lambda: service.void(actor_for(coordinator), attendance, "誤登録"), Conflict)


def test_a_voided_record_stays_voided_and_counts_nowhere(dbsession, service, world, person,
                                                         coordinator):
    token = token_of(service, world.session)
    attendance = service.check_in(person, token).attendance
    service.void(actor_for(coordinator), attendance, "誤登録")
    assert service.check_in(person, token).status == "voided"
    assert service.record_by_staff(actor_for(coordinator), world.session, person
                                   ).status == "voided"
    assert len(rows(dbsession, world.session)) == 1
    assert service.history(person) == []
    [row] = service.session_attendance(world.session)
    assert row.voided_at is not None


# -- history, list, export, search ----------------------------------------------------

def tokyo(year, month, day, hour=10):
    return datetime(year, month, day, hour, tzinfo=timezone(timedelta(hours=9)))


def test_fiscal_year_turns_on_the_first_of_april_in_tokyo():
    assert fiscal_year(tokyo(2027, 3, 31, 23)) == 2026
    assert fiscal_year(tokyo(2027, 4, 1, 0)) == 2027
    assert fiscal_year(datetime(2027, 3, 31, 15, tzinfo=timezone.utc)) == 2027


def test_history_groups_per_site_and_fiscal_year(dbsession, service, world, person):
    matsumoto = make_site(dbsession, MATSUMOTO)
    here = world.project
    there = make_project(dbsession, matsumoto, "雪かき")
    dates = [(here, tokyo(2026, 5, 10)), (here, tokyo(2027, 3, 31, 23)),
             (here, tokyo(2027, 4, 1, 9)), (there, tokyo(2026, 12, 1))]
    for project, moment in dates:
        make_attendance(dbsession, make_session(dbsession, project, moment), person)
    voided = make_session(dbsession, here, tokyo(2026, 6, 1))
    make_attendance(dbsession, voided, person, voided=True)
    make_attendance(dbsession, make_session(dbsession, here, tokyo(2026, 7, 1)),
                    make_registrant(dbsession, "someone@example.jp"))
    groups = service.history(person)
    assert [(g.site_code, g.fiscal_year, len(g.entries)) for g in groups] == [
        (world.site.code, 2027, 1), (world.site.code, 2026, 2), (MATSUMOTO, 2026, 1),
    ]
    assert groups[1].entries[0].attended_at == tokyo(2027, 3, 31, 23)
    assert groups[2].entries[0].project_title == "雪かき"


def test_session_list_and_csv_export(dbsession, service, world, person, coordinator):
    formula = make_registered(dbsession, world.site, "formula@example.jp", name="=HYPERLINK(1)")
    service.check_in(person, token_of(service, world.session))
    second = service.record_by_staff(actor_for(coordinator), world.session, formula).attendance
    service.void(actor_for(coordinator), second, "重複")
    listed = service.session_attendance(world.session)
    assert [(r.name, r.recorded_by) for r in listed] == [
        ("住民 太郎", ""), ("=HYPERLINK(1)", "職員 花子")]
    data = service.export_csv(actor_for(coordinator), world.session,
                              translate=lambda term: term.interpolate())
    assert data.startswith(b"\xef\xbb\xbf")
    header, first, voided = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[:3] == ["Participant", "Email", "Activity date"]
    assert first[:5] == ["住民 太郎", "person@example.jp", "2026/11/25 12:00",
                         "2026/11/25 12:00", "QR check-in"]
    assert voided[0] == "'=HYPERLINK(1)" and voided[-1] == "重複" and voided[-2]
    entry = dbsession.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.export"))
    assert entry.detail == {"rows": 2} and entry.target_type == "ActivitySession"


def test_search_finds_only_registrants_of_the_site(dbsession, service, world, person):
    make_registered(dbsession, world.site, "hanako@example.jp", name="山田 花子")
    make_registered(dbsession, world.site, "gone@example.jp", name="山田 去子", state="left")
    make_registered(dbsession, make_site(dbsession, MATSUMOTO), "m@example.jp", name="山田 松子")
    make_registrant(dbsession, "unregistered@example.jp", name="山田 無子")
    make_account(dbsession, "yamada-staff@example.jp", name="山田 職員")
    service.check_in(person, token_of(service, world.session))

    def names(query):
        return [(c.display_name, c.recorded)
                for c in service.search_registrants(world.session, query)]

    assert names("山田") == [("山田 花子", False)]
    assert names("山田花子") == names("ＨＡＮＡＫＯ") == [("山田 花子", False)]
    assert names("太郎") == [("住民 太郎", True)]
    assert names("%") == names("_") == names("") == names("   ") == []


def test_search_takes_like_wildcards_and_its_escape_literally(dbsession, service, world):
    make_registered(dbsession, world.site, "slash@example.jp", name="原/田 100%_")
    make_registered(dbsession, world.site, "plain@example.jp", name="原田 1000")

    def names(query):
        return [c.display_name for c in service.search_registrants(world.session, query)]

    assert names("原/田") == names("/") == names("100%") == names("%_") == ["原/田 100%_"]
    assert names("原田") == ["原田 1000"]
    assert names("//") == names("/%") == []


def test_the_staff_list_is_one_query(dbsession, service, world, coordinator):
    people = [make_registered(dbsession, world.site, f"p{i}@example.jp") for i in range(5)]
    for someone in people:
        service.record_by_staff(actor_for(coordinator), world.session, someone)
    dbsession.flush()
    listed = []
    statements = statements_during(
        dbsession.get_bind(), lambda: listed.extend(service.session_attendance(world.session)))
    assert len(listed) == 5 and len(statements) == 1
    assert dbsession.scalar(select(func.count()).select_from(Attendance)) == 5


def test_the_staff_page_reads_the_list_and_the_search_once_each_and_audits_both(
        dbsession, service, world, person, coordinator):
    service.check_in(person, token_of(service, world.session))
    voided = make_registered(dbsession, world.site, "v@example.jp", name="住民 次郎")
    record = service.record_by_staff(actor_for(coordinator), world.session, voided)
    service.void(actor_for(coordinator), record.attendance, "重複")
    dbsession.flush()
    found = []
    statements = statements_during(dbsession.get_bind(), lambda: found.append(
        service.staff_page(actor_for(coordinator), world.session, "住民")))
    [(listed, candidates)] = found
    assert [(r.name, r.source, r.recorded_by, r.voided_at is not None, r.void_reason)
            for r in listed] == [("住民 太郎", "qr", "", False, ""),
                                 ("住民 次郎", "staff", "職員 花子", True, "重複")]
    assert [(c.id, c.display_name, c.recorded) for c in candidates] == [
        (person.id, "住民 太郎", True), (voided.id, "住民 次郎", True)]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
    dbsession.flush()
    entries = dbsession.scalars(select(AuditEntry).where(AuditEntry.action.in_(
        ("attendance.list_view", "attendance.registrant_search"))).order_by(AuditEntry.id)).all()
    assert [(e.action, e.detail) for e in entries] == [
        ("attendance.list_view", {"rows": 2}),
        ("attendance.registrant_search", {"shown": [person.id, voided.id]}),
    ]


def test_history_reads_one_statement(dbsession, service, world, person):
    make_attendance(dbsession, world.session, person)
    dbsession.flush()
    groups = []
    statements = statements_during(dbsession.get_bind(),
                                   lambda: groups.extend(service.history(person)))
    assert len(statements) == 1
    [group] = groups
    assert (group.site_code, group.site_name, [
        (e.project_title, e.place, e.source) for e in group.entries]) == (
        world.site.code, world.site.name, [(world.project.title, world.session.place, "staff")])
