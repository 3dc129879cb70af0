"""The rest of a person's app API: register and leave, the card's signed statements,
activity history, premium progress, applications and the inbox — the web's rules, one's
own items only, each with its own scope."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import (
    Attendance,
    InboxMessage,
    PrivacyAcceptance,
    Registration,
    SessionApplication,
    SurveyQuestion,
)
from furusato_cms.services.card_statements import CardStatementService
from furusato_cms.services.policies import PolicyService

from ..activity_factories import make_session
from ..attendance_factories import make_checkin_world, make_registered
from ..conftest import NOW
from ..factories import MATSUMOTO, make_site
from ..oauth_factories import bearer, make_client, make_token
from ..registrant_factories import make_registrant

API = "/api/v1/me"


@pytest.fixture
def world(dbsession):
    return make_checkin_world(dbsession, NOW, place="中央公民館")


@pytest.fixture
def app_client(dbsession):
    return make_client(dbsession)


def auth(dbsession, client, account, *scopes):
    return bearer(make_token(dbsession, client, account, scopes=list(scopes) or None))


def body(site, **extra):
    return {"site": site.code, "relationship_types": [2], "connections": ["birthplace"],
            "accept_privacy_notice": True, **extra}


def test_register_with_survey_answers_then_leave(testapp, dbsession, world, app_client,
                                                 clock, app_settings):
    PolicyService(dbsession, clock=clock, settings=app_settings).ensure_notice(world.site)
    person = make_registrant(dbsession, "new@example.jp")
    question = SurveyQuestion(site_id=world.site.id, kind="single", label="よく来る季節",
                              position=1, required=True, created_at=NOW,
                              choices=[{"key": "spring", "label": "春"}])
    dbsession.add(question)
    dbsession.flush()
    headers = auth(dbsession, app_client, person, "registrations")
    refused = testapp.post_json(API + "/registrations", body(world.site), headers=headers,
                                status=422)
    assert refused.json["errors"][0]["field"] == f"answers.q{question.id}"
    made = testapp.post_json(API + "/registrations",
                             body(world.site, answers={f"q{question.id}": "spring"}),
                             headers=headers, status=201).json
    assert (made["site"]["code"], made["state"], made["tier"]) == (world.site.code, "active",
                                                                   "basic")
    assert dbsession.scalar(select(PrivacyAcceptance).where(
        PrivacyAcceptance.account_id == person.id)) is not None
    again = testapp.post_json(API + "/registrations",
                              body(world.site, answers={f"q{question.id}": "spring"}),
                              headers=headers, status=409)
    assert again.content_type == "application/problem+json"
    testapp.delete(f"{API}/registrations/{made['id']}", headers=headers, status=204)
    assert dbsession.get(Registration, made["id"]).state == "left"
    testapp.delete(f"{API}/registrations/{made['id']}", headers=headers, status=409)


def test_unknown_sites_and_other_peoples_registrations(testapp, dbsession, world, app_client):
    person = make_registered(dbsession, world.site, "me@example.jp")
    other = make_registered(dbsession, world.site, "other@example.jp")
    headers = auth(dbsession, app_client, person, "registrations")
    unknown = testapp.post_json(API + "/registrations", {**body(world.site), "site": "999999"},
                                headers=headers, status=422)
    assert unknown.json["errors"][0]["field"] == "site"
    theirs = dbsession.scalar(select(Registration.id).where(Registration.account_id == other.id))
    testapp.delete(f"{API}/registrations/{theirs}", headers=headers, status=404)
    assert dbsession.get(Registration, theirs).state == "active"


def test_the_card_is_what_verify_checks(testapp, dbsession, world, app_client, app_settings,
                                        clock):
    person = make_registered(dbsession, world.site, "me@example.jp")
    card = testapp.get(API + "/card", headers=auth(dbsession, app_client, person, "card")).json
    [item] = card["items"]
    verdict = CardStatementService(dbsession, clock=clock, settings=app_settings).verify(
        item["statement"])
    assert verdict.valid and verdict.claims.site_code == world.site.code
    assert item["verify_url"].endswith(item["statement"]) and card["identity_verified"] is False


def test_activity_history_newest_first_by_cursor(testapp, dbsession, world, app_client):
    person = make_registered(dbsession, world.site, "me@example.jp")
    later = make_session(dbsession, world.project, NOW + timedelta(days=3))
    for session in (world.session, later):
        dbsession.add(Attendance(session_id=session.id, account_id=person.id,
                                 site_id=world.site.id, attended_at=session.starts_at,
                                 recorded_at=NOW, source="staff", designated=True))
    dbsession.flush()
    headers = auth(dbsession, app_client, person, "activities")
    first = testapp.get(API + "/activities?limit=1", headers=headers).json
    second = testapp.get(API + f"/activities?limit=1&cursor={first['next_cursor']}",
                         headers=headers).json
    assert [first["items"][0]["session_id"], second["items"][0]["session_id"]] == [
        later.id, world.session.id]
    assert second["next_cursor"] is None
    assert first["items"][0]["project_title"] == world.project.title


def test_premium_progress_with_its_evidence(testapp, dbsession, world, app_client):
    person = make_registered(dbsession, world.site, "me@example.jp")
    dbsession.add(Attendance(session_id=world.session.id, account_id=person.id,
                             site_id=world.site.id, attended_at=NOW - timedelta(days=1),
                             recorded_at=NOW, source="staff", designated=True))
    dbsession.flush()
    [progress] = testapp.get(API + "/premium",
                             headers=auth(dbsession, app_client, person, "activities")
                             ).json["items"]
    assert progress["site"]["code"] == world.site.code and progress["eligible"] is False
    assert progress["activity_count"] == 1 == len(progress["activities"])
    assert progress["requirements"] and all(r["title"] for r in progress["requirements"])


def test_apply_wait_in_line_and_cancel(testapp, dbsession, world, app_client):
    session = make_session(dbsession, world.project, NOW + timedelta(days=5), capacity=1,
                           application_required=True)
    first = make_registered(dbsession, world.site, "first@example.jp")
    second = make_registered(dbsession, world.site, "second@example.jp")
    applied = testapp.post_json(API + "/applications", {"session_id": session.id},
                                headers=auth(dbsession, app_client, first, "activities"),
                                status=201).json
    waiting = testapp.post_json(API + "/applications", {"session_id": session.id},
                                headers=auth(dbsession, app_client, second, "activities"),
                                status=201).json
    assert (applied["state"], waiting["state"]) == ("applied", "waitlisted")
    headers = auth(dbsession, app_client, first, "activities")
    testapp.post_json(API + "/applications", {"session_id": session.id}, headers=headers,
                      status=409)
    assert [a["id"] for a in testapp.get(API + "/applications", headers=headers).json[
        "items"]] == [applied["id"]]
    testapp.delete(f"{API}/applications/{waiting['id']}", headers=headers, status=404)
    testapp.delete(f"{API}/applications/{applied['id']}", headers=headers, status=204)
    dbsession.expire_all()
    assert dbsession.get(SessionApplication, waiting["id"]).state == "applied"
    testapp.post_json(API + "/applications", {"session_id": world.session.id},
                      headers=headers, status=409)


def test_inbox_lists_and_marks_read_ones_own_messages(testapp, dbsession, world, app_client):
    person = make_registered(dbsession, world.site, "me@example.jp")
    other = make_registered(dbsession, world.site, "other@example.jp")
    for number, account in enumerate((person, person, other)):
        dbsession.add(InboxMessage(account_id=account.id, site_id=world.site.id,
                                   kind="new_project", subject=f"お知らせ {number}",
                                   created_at=NOW + timedelta(minutes=number)))
    dbsession.flush()
    headers = auth(dbsession, app_client, person, "inbox")
    listed = testapp.get(API + "/inbox", headers=headers).json
    assert listed["unread"] == 2 and [m["subject"] for m in listed["items"]] == [
        "お知らせ 1", "お知らせ 0"]
    testapp.post(f"{API}/inbox/{listed['items'][0]['id']}/read", headers=headers, status=204)
    assert testapp.get(API + "/inbox", headers=headers).json["unread"] == 1
    theirs = dbsession.scalar(select(InboxMessage.id).where(InboxMessage.account_id == other.id))
    testapp.post(f"{API}/inbox/{theirs}/read", headers=headers, status=404)


@pytest.mark.parametrize("method,path,scope", [
    ("get", "/card", "card"), ("get", "/activities", "activities"),
    ("get", "/premium", "activities"), ("get", "/applications", "activities"),
    ("get", "/inbox", "inbox"),
])
def test_each_needs_its_own_scope(testapp, dbsession, world, app_client, method, path, scope):
    person = make_registered(dbsession, world.site, "me@example.jp")
    other_scope = "profile"
    answer = testapp.get(API + path, headers=auth(dbsession, app_client, person, other_scope),
                         status=403)
    assert f'scope="{scope}"' in answer.headers["WWW-Authenticate"]


def test_a_municipal_servers_token_cannot_act_as_a_person(testapp, dbsession, world):
    server = make_client(dbsession, make_site(dbsession, MATSUMOTO), kind="confidential")
    testapp.get(API + "/inbox", headers=bearer(make_token(dbsession, server)), status=403)
