"""A municipality's own server (/api/v1/sites/{code}/…): its site's registrations (what the
person gave the site, pseudonymous), attendance and applications, attendance it recorded
itself (idempotent by its own key), only for its own site, every read audited."""
import pytest
from sqlalchemy import func, select

from furusato_cms.models import (
    Attendance,
    AuditEntry,
    Registration,
    SessionApplication,
    SurveyAnswer,
    SurveyQuestion,
)

from ..attendance_factories import make_checkin_world, make_registered
from ..conftest import NOW
from ..factories import MATSUMOTO, make_site
from ..oauth_factories import bearer, make_client, make_token

CODE = "202011"


@pytest.fixture
def world(dbsession):
    return make_checkin_world(dbsession, NOW, place="中央公民館")


@pytest.fixture
def person(dbsession, world):
    return make_registered(dbsession, world.site, "person@example.jp", name="住民 太郎")


@pytest.fixture
def registration(dbsession, world, person):
    return dbsession.scalar(select(Registration).where(Registration.account_id == person.id,
                                                       Registration.site_id == world.site.id))


@pytest.fixture
def server(dbsession, world):
    """The site's own server with every site scope."""
    return make_client(dbsession, world.site, kind="confidential")


def headers(dbsession, client, *scopes):
    return bearer(make_token(dbsession, client, scopes=list(scopes) or None))


def base(code=CODE) -> str:
    return f"/api/v1/sites/{code}"


def api_reads(dbsession) -> list:
    return list(dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "api.read")))


def test_registrations_give_what_the_person_gave_the_site_and_nothing_else(
        testapp, dbsession, world, server, person, registration):
    question = SurveyQuestion(site_id=world.site.id, kind="single", label="よく来る季節",
                              position=1, choices=[{"key": "spring", "label": "春"}],
                              created_at=NOW)
    dbsession.add(question)
    dbsession.flush()
    dbsession.add(SurveyAnswer(registration_id=registration.id, question_id=question.id,
                               value={"choice": "spring"}, answered_at=NOW))
    dbsession.flush()
    answer = testapp.get(f"{base()}/registrations",
                         headers=headers(dbsession, server, "site.registrations.read"))
    [item] = answer.json["items"]
    assert item["id"] == registration.id and item["account"].startswith("acct_")
    assert item["answers"] == [{"question_id": question.id, "value": {"choice": "spring"}}]
    assert "住民" not in answer.text and "person@example.jp" not in answer.text
    [entry] = api_reads(dbsession)
    assert entry.actor_label == f"api:{server.client_id}" and entry.detail["accounts"] == [
        person.id] and entry.detail["what"] == "registrations"


def test_registrations_page_by_cursor_and_filter(testapp, dbsession, world, server):
    for number in range(5):
        make_registered(dbsession, world.site, f"p{number}@example.jp",
                        state="left" if number == 4 else "active")
    auth = headers(dbsession, server, "site.registrations.read")
    first = testapp.get(f"{base()}/registrations?limit=2&state=active", headers=auth).json
    second = testapp.get(f"{base()}/registrations?limit=2&state=active&cursor="
                         f"{first['next_cursor']}", headers=auth).json
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert len(ids) == 4 == len(set(ids)) and ids == sorted(ids)
    assert second["next_cursor"] is None


def test_attendance_read_and_recorded_idempotently_by_the_servers_own_key(
        testapp, dbsession, world, server, person, registration):
    auth = headers(dbsession, server, "site.attendance.read", "site.attendance.write")
    body = {"external_id": "ATT-2026-001", "registration_id": registration.id,
            "session_id": world.session.id}
    first = testapp.post_json(f"{base()}/attendance", body, headers=auth, status=201).json
    again = testapp.post_json(f"{base()}/attendance", body, headers=auth, status=200).json
    assert first == again and first["external_id"] == "ATT-2026-001"
    assert (first["registration_id"], first["source"], first["voided"]) == (
        registration.id, "staff", False)
    assert dbsession.scalar(select(func.count()).select_from(Attendance)) == 1
    listed = testapp.get(f"{base()}/attendance?session_id={world.session.id}",
                         headers=auth).json["items"]
    assert listed == [first]
    other = make_registered(dbsession, world.site, "other@example.jp")
    other_registration = dbsession.scalar(select(Registration.id).where(
        Registration.account_id == other.id))
    reused = testapp.post_json(f"{base()}/attendance", {**body, "external_id": "ATT-2026-001",
                                                        "registration_id": other_registration},
                               headers=auth, status=200).json
    assert reused["id"] == first["id"], "a known key answers its own attendance"


def test_recording_refuses_what_the_rules_refuse(testapp, dbsession, world, server,
                                                 registration):
    auth = headers(dbsession, server, "site.attendance.write")
    nobody = testapp.post_json(f"{base()}/attendance", {
        "external_id": "X-1", "registration_id": 999999, "session_id": world.session.id},
        headers=auth, status=422)
    assert nobody.content_type == "application/problem+json"
    assert nobody.json["errors"][0]["field"] == "registration_id"
    world.session.cancelled_at = NOW
    dbsession.flush()
    cancelled = testapp.post_json(f"{base()}/attendance", {
        "external_id": "X-2", "registration_id": registration.id,
        "session_id": world.session.id}, headers=auth, status=409)
    assert "中止" in cancelled.json["detail"]
    bad = testapp.post_json(f"{base()}/attendance", {"external_id": "空白 あり",
                                                      "registration_id": 1, "session_id": 1},
                            headers=auth, status=400)
    assert bad.json["errors"]


def test_applications_of_the_sites_sessions(testapp, dbsession, world, server, person,
                                            registration):
    dbsession.add(SessionApplication(session_id=world.session.id, account_id=person.id,
                                     state="applied", answers={}, applied_at=NOW,
                                     updated_at=NOW))
    dbsession.flush()
    answer = testapp.get(f"{base()}/applications",
                         headers=headers(dbsession, server, "site.applications.read")).json
    [item] = answer["items"]
    assert (item["registration_id"], item["state"]) == (registration.id, "applied")
    assert api_reads(dbsession)[0].detail["what"] == "applications"


def test_another_sites_server_gets_nothing(testapp, dbsession, world, person):
    other = make_client(dbsession, make_site(dbsession, MATSUMOTO), kind="confidential")
    auth = headers(dbsession, other)
    for path in ("registrations", "attendance", "applications"):
        answer = testapp.get(f"{base()}/{path}", headers=auth, status=403)
        assert answer.content_type == "application/problem+json"
    assert api_reads(dbsession) == []


def test_each_operation_needs_its_own_scope_and_a_token(testapp, dbsession, server, person):
    auth = headers(dbsession, server, "site.applications.read")
    answer = testapp.get(f"{base()}/registrations", headers=auth, status=403)
    assert 'scope="site.registrations.read"' in answer.headers["WWW-Authenticate"]
    testapp.get(f"{base()}/attendance", status=401)
    app = make_client(dbsession)
    testapp.get(f"{base()}/registrations", headers=bearer(make_token(dbsession, app, person)),
                status=403)


def test_an_unknown_site_gives_a_server_nothing(testapp, dbsession, server):
    testapp.get(f"{base('999999')}/registrations",
                headers=headers(dbsession, server, "site.registrations.read"), status=403)
