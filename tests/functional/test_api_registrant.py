"""The person's own API (/api/v1/me…): who they are, their registrations, and checking in
by a poster's code with the web check-in's rules and exactly-once guarantee."""
import pytest
from sqlalchemy import func, select

from furusato_cms.models import Attendance
from furusato_cms.services.checkin_tokens import CheckinTokens, rotate

from ..attendance_factories import make_checkin_world, make_registered
from ..conftest import NOW
from ..factories import make_staff
from ..oauth_factories import bearer, make_client, make_token
from ..registrant_factories import make_registrant


@pytest.fixture
def world(dbsession):
    return make_checkin_world(dbsession, NOW, place="中央公民館")


@pytest.fixture
def person(dbsession, world):
    return make_registered(dbsession, world.site, "person@example.jp", name="住民 太郎")


@pytest.fixture
def app_client(dbsession):
    return make_client(dbsession)


def token_for(dbsession, client, account, *scopes):
    return bearer(make_token(dbsession, client, account, scopes=list(scopes)))


@pytest.fixture
def poster(app_settings, world):
    return "http://localhost/checkin/" + CheckinTokens(app_settings).token_for(world.session)


def attendance_count(dbsession, world, person) -> int:
    return dbsession.scalar(select(func.count()).select_from(Attendance).where(
        Attendance.session_id == world.session.id, Attendance.account_id == person.id))


def test_me_is_the_person_the_token_acts_for(testapp, dbsession, app_client, person):
    answer = testapp.get("/api/v1/me", headers=token_for(dbsession, app_client, person,
                                                         "profile"))
    assert answer.json == {"id": person.id, "display_name": "住民 太郎",
                           "email": "person@example.jp", "locale": person.locale,
                           "identity_verified": False}


def test_each_endpoint_needs_its_own_scope(testapp, dbsession, app_client, person, poster):
    headers = token_for(dbsession, app_client, person, "inbox")
    for method, path, body in (("get", "/api/v1/me", None),
                               ("get", "/api/v1/me/registrations", None),
                               ("post", "/api/v1/me/checkins", {"code": poster})):
        answer = (testapp.get(path, headers=headers, status=403) if method == "get" else
                  testapp.post_json(path, body, headers=headers, status=403))
        assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
        assert answer.content_type == "application/problem+json"
    assert testapp.get("/api/v1/me", status=401).headers["WWW-Authenticate"].startswith("Bearer")


def test_registrations_list_the_persons_own(testapp, dbsession, app_client, person, world):
    make_registered(dbsession, world.site, "other@example.jp", name="他人 次郎")
    answer = testapp.get("/api/v1/me/registrations",
                         headers=token_for(dbsession, app_client, person, "registrations"))
    items = answer.json["items"]
    assert [(item["site"]["code"], item["state"], item["tier"]) for item in items] == [
        (world.site.code, "active", "basic")]


def test_check_in_by_poster_address_records_once(testapp, dbsession, app_client, person,
                                                 world, poster):
    headers = token_for(dbsession, app_client, person, "activities")
    first = testapp.post_json("/api/v1/me/checkins", {"code": poster}, headers=headers,
                              status=201)
    assert first.json["status"] == "recorded" and first.json["registered"] is True
    assert first.json["project_title"] == "りんご収穫の手伝い"
    again = testapp.post_json("/api/v1/me/checkins", {"code": poster.rsplit("/", 1)[1]},
                              headers=headers, status=200)
    assert again.json["status"] == "already"
    assert again.json["attendance_id"] == first.json["attendance_id"]
    assert attendance_count(dbsession, world, person) == 1


def test_someone_not_registered_is_recorded_and_told(testapp, dbsession, app_client, world,
                                                     poster):
    stranger = make_registrant(dbsession, "stranger@example.jp")
    answer = testapp.post_json("/api/v1/me/checkins", {"code": poster}, status=201,
                               headers=token_for(dbsession, app_client, stranger, "activities"))
    assert answer.json["registered"] is False


def test_a_code_that_no_longer_works_is_refused_with_a_reason(testapp, dbsession, app_client,
                                                             person, world, poster):
    rotate(world.session)
    dbsession.flush()
    answer = testapp.post_json("/api/v1/me/checkins", {"code": poster}, status=422,
                               headers=token_for(dbsession, app_client, person, "activities"))
    assert answer.json["title"] == "この出席コードは使えません。"
    assert answer.json["detail"]
    garbage = testapp.post_json("/api/v1/me/checkins", {"code": "not-a-code"}, status=422,
                                headers=token_for(dbsession, app_client, person, "activities"))
    assert garbage.content_type == "application/problem+json"
    assert attendance_count(dbsession, world, person) == 0


def test_outside_the_check_in_window_is_a_conflict(testapp, dbsession, app_client, person,
                                                   world, poster):
    world.session.starts_at = NOW.replace(year=2027)
    world.session.ends_at = world.session.starts_at.replace(hour=world.session.starts_at.hour + 1)
    dbsession.flush()
    answer = testapp.post_json("/api/v1/me/checkins", {"code": poster}, status=409,
                               headers=token_for(dbsession, app_client, person, "activities"))
    assert answer.json["detail"]
    assert attendance_count(dbsession, world, person) == 0


def test_a_bad_body_is_a_400_naming_the_field(testapp, dbsession, app_client, person):
    answer = testapp.post_json("/api/v1/me/checkins", {"kode": "x"}, status=400,
                               headers=token_for(dbsession, app_client, person, "activities"))
    assert answer.content_type == "application/problem+json"
    assert answer.json["errors"]


def test_a_municipal_token_cannot_act_for_a_person(testapp, dbsession, world):
    town = make_client(dbsession, site=world.site, kind="confidential")
    headers = bearer(make_token(dbsession, town, scopes=["site.attendance.read"]))
    testapp.get("/api/v1/me", headers=headers, status=403)


def test_staff_accounts_are_not_people_for_the_api(testapp, dbsession, app_client, world):
    coordinator = make_staff(dbsession, world.site, "coordinator")
    testapp.get("/api/v1/me", status=403,
                headers=token_for(dbsession, app_client, coordinator, "profile"))
